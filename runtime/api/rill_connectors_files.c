/*  rill_connectors_files.c: the file connectors' API (rill_connectors_files.h). Checks the
    paths before anything runs, turns options into the flat settings the operator spec carries
    (rill_connectors_files_private.h) and parses the URL forms. The operators that run them are
    rill_op_directory.c and rill_op_rolling_sink.c. */
#include "rill_connectors_files_private.h"
#include "rill_env_private.h"
#include "rill_graph_private.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void s_fail(rill_env_t *env, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    rill_env_fail(env, message);
}

static void s_error(char *error, size_t error_size, const char *format, ...)
{
    if (!error || !error_size)
        return;
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
}

//  ---- URL parameters

//  A duration: a number with ms, s, m or h (a bare number is ms). 0, or -1.
static int s_parse_duration(const char *text, int64_t *ms)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end == text || errno || value < 0)
        return -1;
    long long unit = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60 * 1000;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * 1000;
    else
        return -1;
    if (value > INT64_MAX / unit)
        return -1;
    *ms = value * unit;
    return 0;
}

//  A size: a number with K, M or G (binary; a bare number is bytes). 0, or -1.
static int s_parse_size(const char *text, uint64_t *bytes)
{
    char *end;
    errno = 0;
    if (*text == '-')
        return -1;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || errno)
        return -1;
    unsigned long long unit = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "B") == 0)
        unit = 1;
    else if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0 || strcmp(end, "k") == 0)
        unit = 1024;
    else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
        unit = 1024 * 1024;
    else if (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0)
        unit = 1024 * 1024 * 1024;
    else
        return -1;
    if (value > UINT64_MAX / unit)
        return -1;
    *bytes = value * unit;
    return 0;
}

static int s_parse_bool(const char *text, bool *value)
{
    if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes"))
        *value = true;
    else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no"))
        *value = false;
    else
        return -1;
    return 0;
}

//  Splits "SCHEME://PATH?k=v&k=v" (scheme given, or none when the url has no "://") into the
//  path (copied into path) and the query (returned; "" when none). NULL with error set.
static const char *s_split_url(const char *url, const char *scheme, char *path, size_t path_size,
                               char *error, size_t error_size)
{
    const char *rest = url;
    size_t scheme_length = strlen(scheme);
    if (scheme_length && strncmp(url, scheme, scheme_length) == 0)
        rest = url + scheme_length;
    else if (strstr(url, "://")) {
        s_error(error, error_size, "'%.200s': not a %s URL", url, scheme);
        return NULL;
    } else
        scheme_length = 0;
    const char *query = scheme_length ? strchr(rest, '?') : NULL;
    size_t length = query ? (size_t)(query - rest) : strlen(rest);
    if (length == 0) {
        s_error(error, error_size, "'%.200s': no directory given", url);
        return NULL;
    }
    if (length >= path_size) {
        s_error(error, error_size, "'%.200s...': the path is longer than %zu bytes", url,
                path_size - 1);
        return NULL;
    }
    memcpy(path, rest, length);
    path[length] = '\0';
    return query ? query + 1 : "";
}

//  Calls fn(key, value) for each "k=v" of query; -1 with error set on a malformed pair or
//  when fn refuses one.
typedef int (*s_param_fn)(const char *key, const char *value, void *target, char *error,
                          size_t error_size);
static int s_each_param(const char *url, const char *query, s_param_fn fn, void *target,
                        char *error, size_t error_size)
{
    while (*query) {
        const char *amp = strchr(query, '&');
        size_t length = amp ? (size_t)(amp - query) : strlen(query);
        char pair[RILL_FILES_NAME_MAX + 64];
        if (length >= sizeof pair) {
            s_error(error, error_size, "'%.200s': a parameter is too long", url);
            return -1;
        }
        memcpy(pair, query, length);
        pair[length] = '\0';
        char *equals = strchr(pair, '=');
        if (length && (!equals || equals == pair)) {
            s_error(error, error_size, "'%.200s': parameter '%s' is not KEY=VALUE", url, pair);
            return -1;
        }
        if (length) {
            *equals = '\0';
            char message[512] = "";
            if (fn(pair, equals + 1, target, message, sizeof message)) {
                s_error(error, error_size, "'%.200s': %s", url, message);
                return -1;
            }
        }
        query += length + (amp ? 1 : 0);
    }
    return 0;
}

//  ---- directory source

static int s_directory_param(const char *key, const char *value, void *target, char *error,
                             size_t error_size)
{
    rill_directory_url_t *out = target;
    if (strcmp(key, "continuous") == 0) {
        if (s_parse_bool(value, &out->options.continuous) == 0)
            return 0;
        s_error(error, error_size, "continuous must be 0 or 1, not '%s'", value);
        return -1;
    }
    if (strcmp(key, "poll") == 0) {
        int64_t ms;
        if (s_parse_duration(value, &ms) == 0 && ms > 0 && ms <= INT_MAX) {
            out->options.poll_interval_ms = (int)ms;
            return 0;
        }
        s_error(error, error_size, "poll must be a duration above 0 (500ms, 1s, 2m), not '%s'",
                value);
        return -1;
    }
    if (strcmp(key, "glob") == 0) {
        if (strlen(value) >= sizeof out->glob) {
            s_error(error, error_size, "glob is longer than %zu bytes", sizeof out->glob - 1);
            return -1;
        }
        snprintf(out->glob, sizeof out->glob, "%s", value);
        out->options.glob = *out->glob ? out->glob : NULL;
        return 0;
    }
    s_error(error, error_size, "unknown parameter '%s' (continuous, poll, glob)", key);
    return -1;
}

int rill_directory_url_parse(const char *url, rill_directory_url_t *out, char *error,
                             size_t error_size)
{
    if (!url || !out) {
        s_error(error, error_size, "no URL given");
        return -1;
    }
    memset(out, 0, sizeof *out);
    const char *query = s_split_url(url, "dir://", out->path, sizeof out->path, error, error_size);
    if (!query)
        return -1;
    return s_each_param(url, query, s_directory_param, out, error, error_size);
}

bool rill_directory_url_matches(const char *url)
{
    struct stat info;
    return url &&
           (strncmp(url, "dir://", 6) == 0 || (stat(url, &info) == 0 && S_ISDIR(info.st_mode)));
}

rill_stream_t *rill_env_from_directory(rill_env_t *env, const char *path,
                                       const rill_directory_options_t *options)
{
    if (!path || !*path) {
        s_fail(env, "directory source: no directory given");
        return NULL;
    }
    rill_directory_config_t config = {.poll_ms = RILL_DIRECTORY_DEFAULT_POLL_MS};
    if (options) {
        if (options->poll_interval_ms < 0) {
            s_fail(env, "directory source '%s': poll interval %d ms is below 0", path,
                   options->poll_interval_ms);
            return NULL;
        }
        if (options->glob && strlen(options->glob) >= sizeof config.glob) {
            s_fail(env, "directory source '%s': glob is longer than %zu bytes", path,
                   sizeof config.glob - 1);
            return NULL;
        }
        config.continuous = options->continuous;
        if (options->poll_interval_ms)
            config.poll_ms = options->poll_interval_ms;
        snprintf(config.glob, sizeof config.glob, "%s", options->glob ? options->glob : "");
    }
    //  Checked now, so that a typo fails before anything runs (and again by each subtask).
    DIR *dir = opendir(path);
    if (!dir) {
        s_fail(env, "directory source: cannot read directory '%s': %s", path, strerror(errno));
        return NULL;
    }
    closedir(dir);
    return rill_env_add_source(
        env, &(rill_operator_spec_t){.kind = RILL_OP_SOURCE_DIRECTORY,
                                     .path = path,
                                     .max_record_size = rill_env_max_record_size(env),
                                     .options = &config,
                                     .options_size = sizeof config});
}

rill_stream_t *rill_env_from_directory_url(rill_env_t *env, const char *url)
{
    rill_directory_url_t parsed;
    char error[600];
    if (rill_directory_url_parse(url, &parsed, error, sizeof error)) {
        s_fail(env, "directory source: %s", error);
        return NULL;
    }
    return rill_env_from_directory(env, parsed.path, &parsed.options);
}

//  ---- rolling file sink

static int s_rolling_param(const char *key, const char *value, void *target, char *error,
                           size_t error_size)
{
    rill_rolling_url_t *out = target;
    if (strcmp(key, "size") == 0) {
        if (s_parse_size(value, &out->options.max_part_bytes) == 0 &&
            out->options.max_part_bytes > 0)
            return 0;
        s_error(error, error_size, "size must be a size above 0 (4096, 64K, 64M, 1G), not '%s'",
                value);
        return -1;
    }
    if (strcmp(key, "interval") == 0 || strcmp(key, "rollover") == 0 ||
        strcmp(key, "inactivity") == 0) {
        int64_t ms;
        if (s_parse_duration(value, &ms) || ms <= 0) {
            s_error(error, error_size,
                    "%s must be a duration above 0 (500ms, 30s, 15m, 1h), not "
                    "'%s'",
                    key, value);
            return -1;
        }
        if (strcmp(key, "inactivity") == 0)
            out->options.inactivity_ms = ms;
        else
            out->options.rollover_ms = ms;
        return 0;
    }
    if (strcmp(key, "bucket") == 0) {
        if (strcmp(value, "none") == 0)
            out->options.bucket = NULL;
        else if (strcmp(value, "hour") == 0)
            out->options.bucket = rill_bucket_by_hour;
        else {
            s_error(error, error_size, "bucket must be none or hour, not '%s'", value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "prefix") == 0 || strcmp(key, "suffix") == 0) {
        char *into = strcmp(key, "prefix") == 0 ? out->prefix : out->suffix;
        if (strlen(value) >= RILL_FILES_NAME_MAX || strchr(value, '/')) {
            s_error(error, error_size, "%s must be a file name part without '/', not '%.100s'", key,
                    value);
            return -1;
        }
        snprintf(into, RILL_FILES_NAME_MAX, "%s", value);
        if (into == out->prefix)
            out->options.prefix = out->prefix;
        else
            out->options.suffix = out->suffix;
        return 0;
    }
    s_error(error, error_size,
            "unknown parameter '%s' (size, interval, inactivity, bucket, prefix, suffix)", key);
    return -1;
}

int rill_rolling_url_parse(const char *url, rill_rolling_url_t *out, char *error, size_t error_size)
{
    if (!url || !out) {
        s_error(error, error_size, "no URL given");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (strncmp(url, "rolling://", 10) != 0) {
        s_error(error, error_size, "'%.200s': not a rolling:// URL", url);
        return -1;
    }
    const char *query =
        s_split_url(url, "rolling://", out->base_dir, sizeof out->base_dir, error, error_size);
    if (!query)
        return -1;
    return s_each_param(url, query, s_rolling_param, out, error, error_size);
}

bool rill_rolling_url_matches(const char *url)
{
    return url && strncmp(url, "rolling://", 10) == 0;
}

//  The directory itself when it exists, else its nearest existing ancestor: whether the sink
//  can write there (make its buckets and parts). 0, or -1 with a message.
static int s_check_writable(const char *base, char *error, size_t error_size)
{
    char path[RILL_FILES_PATH_MAX];
    snprintf(path, sizeof path, "%s", base);
    struct stat info;
    bool exists = stat(path, &info) == 0;
    if (exists && !S_ISDIR(info.st_mode)) {
        s_error(error, error_size, "base directory '%s' is not a directory", base);
        return -1;
    }
    while (!exists) {
        if (errno != ENOENT && errno != ENOTDIR) {
            s_error(error, error_size, "cannot use base directory '%s': %s", base, strerror(errno));
            return -1;
        }
        char *slash = strrchr(path, '/');
        while (slash && slash > path && slash[1] == '\0') { //  trailing slashes
            *slash = '\0';
            slash = strrchr(path, '/');
        }
        if (!slash)
            snprintf(path, sizeof path, ".");
        else if (slash == path)
            path[1] = '\0';
        else
            *slash = '\0';
        exists = stat(path, &info) == 0;
        if (exists && !S_ISDIR(info.st_mode)) {
            s_error(error, error_size, "cannot make base directory '%s': '%s' is not a directory",
                    base, path);
            return -1;
        }
    }
    if (access(path, W_OK | X_OK) != 0) {
        if (strcmp(path, base) == 0)
            s_error(error, error_size, "base directory '%s' is not writable: %s", base,
                    strerror(errno));
        else
            s_error(error, error_size, "cannot make base directory '%s': '%s' is not writable: %s",
                    base, path, strerror(errno));
        return -1;
    }
    return 0;
}

rill_stream_t *rill_stream_to_rolling_files(rill_stream_t *in, const char *base_dir,
                                            const rill_rolling_options_t *options)
{
    if (!in)
        return NULL;
    rill_env_t *env = rill_stream_env(in);
    if (!base_dir || !*base_dir) {
        s_fail(env, "rolling file sink: no base directory given");
        return NULL;
    }
    //  Room for a bucket, a prefix, a suffix and the numbers within PATH_MAX.
    if (strlen(base_dir) >= RILL_FILES_PATH_MAX - 2 * RILL_FILES_NAME_MAX - RILL_BUCKET_MAX - 128) {
        s_fail(env, "rolling file sink: base directory '%.100s...' is too long", base_dir);
        return NULL;
    }
    rill_rolling_config_t config = {.max_part_bytes = RILL_ROLLING_DEFAULT_PART_BYTES};
    snprintf(config.prefix, sizeof config.prefix, "part");
    if (options) {
        if (options->rollover_ms < 0 || options->inactivity_ms < 0) {
            s_fail(env, "rolling file sink '%s': a rollover or inactivity interval below 0",
                   base_dir);
            return NULL;
        }
        const char *names[2] = {options->prefix, options->suffix};
        for (int i = 0; i < 2; i++)
            if (names[i] && (strlen(names[i]) >= RILL_FILES_NAME_MAX || strchr(names[i], '/'))) {
                s_fail(env,
                       "rolling file sink '%s': the part %s '%.100s' must be a file name "
                       "part without '/'",
                       base_dir, i ? "suffix" : "prefix", names[i]);
                return NULL;
            }
        if (options->prefix && !*options->prefix) {
            s_fail(env, "rolling file sink '%s': the part prefix is empty", base_dir);
            return NULL;
        }
        config.bucket = options->bucket;
        if (options->max_part_bytes)
            config.max_part_bytes = options->max_part_bytes;
        config.rollover_ms = options->rollover_ms;
        config.inactivity_ms = options->inactivity_ms;
        if (options->prefix)
            snprintf(config.prefix, sizeof config.prefix, "%s", options->prefix);
        if (options->suffix)
            snprintf(config.suffix, sizeof config.suffix, "%s", options->suffix);
    }
    char error[600];
    if (s_check_writable(base_dir, error, sizeof error)) {
        s_fail(env, "rolling file sink: %s", error);
        return NULL;
    }
    //  Its committed parts in a directory a source of this job reads: the job would read its
    //  own output (forever, when continuous).
    struct stat written;
    const rill_graph_t *graph = rill_env_graph(env);
    for (int id = 0; stat(base_dir, &written) == 0 && id < rill_graph_operator_count(graph); id++) {
        const rill_operator_spec_t *spec = rill_graph_operator(graph, id);
        struct stat read;
        if (spec->kind == RILL_OP_SOURCE_DIRECTORY && stat(spec->path, &read) == 0 &&
            read.st_dev == written.st_dev && read.st_ino == written.st_ino) {
            s_fail(env,
                   "rolling file sink: base directory '%s' is the directory that operator "
                   "'%s' reads: the job would read its own output; choose another",
                   base_dir, spec->name ? spec->name : "Source: directory");
            return NULL;
        }
    }
    return rill_env_apply(in,
                          &(rill_operator_spec_t){.kind = RILL_OP_SINK_ROLLING,
                                                  .path = base_dir,
                                                  .ctx = options ? options->bucket_ctx : NULL,
                                                  .options = &config,
                                                  .options_size = sizeof config},
                          "to_rolling_files");
}

rill_stream_t *rill_stream_to_rolling_files_url(rill_stream_t *in, const char *url)
{
    if (!in)
        return NULL;
    rill_rolling_url_t parsed;
    char error[600];
    if (rill_rolling_url_parse(url, &parsed, error, sizeof error)) {
        s_fail(rill_stream_env(in), "rolling file sink: %s", error);
        return NULL;
    }
    return rill_stream_to_rolling_files(in, parsed.base_dir, &parsed.options);
}

//  ---- buckets

//  Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm): no library call, no
//  lock, so it may run per record.
static void s_civil(int64_t days, int64_t *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = yoe + era * 400 + (*month <= 2);
}

static char *s_digits(char *at, int64_t value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        at[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return at + width;
}

int rill_bucket_by_hour(const rill_record_t *record, char *bucket, size_t size, void *ctx)
{
    int64_t ms = record->timestamp;
    if (ms == RILL_NO_TIMESTAMP) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    }
    int64_t hours = ms >= 0 ? ms / 3600000 : -((-ms + 3599999) / 3600000);
    int64_t days = hours >= 0 ? hours / 24 : -((-hours + 23) / 24);
    int hour = (int)(hours - days * 24);
    int64_t year;
    int month, day;
    s_civil(days, &year, &month, &day);
    if (size < sizeof "YYYY-MM-DD--HH" || year < 0 || year > 9999)
        return -1;
    char *at = s_digits(bucket, year, 4);
    *at++ = '-';
    at = s_digits(at, month, 2);
    *at++ = '-';
    at = s_digits(at, day, 2);
    *at++ = '-';
    *at++ = '-';
    at = s_digits(at, hour, 2);
    *at = '\0';
    return 0;
}
