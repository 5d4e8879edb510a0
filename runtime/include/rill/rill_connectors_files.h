/*  rill_connectors_files.h: file connectors after Flink's FileSource and FileSink. A directory
    source reads the files of one directory line by line, each file once, and (continuous)
    those that appear later; a rolling file sink writes part files under a base directory,
    bucketed and rolled, made visible only when a checkpoint completes (exactly once). Both
    also take URL forms ("dir://PATH?...", "rolling://DIR?..."), for job arguments. README:
    File connectors. */
#ifndef RILL_CONNECTORS_FILES_H_INCLUDED
#define RILL_CONNECTORS_FILES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill_env.h"
#include "rill_export.h"
#include "rill_record.h"

#ifdef __cplusplus
extern "C" {
#endif

//  ---- directory source

//  Longest glob, file name prefix or suffix the options take (bytes, with the NUL).
#define RILL_FILES_NAME_MAX 256
//  Longest path the URL forms take (bytes, with the NUL).
#define RILL_FILES_PATH_MAX 4096
//  The poll interval of a continuous directory source when none is given (ms).
#define RILL_DIRECTORY_DEFAULT_POLL_MS 1000

//  How a directory source reads (all zero: bounded, every visible file). A file is read when
//  its name does not start with '.' or '_' and does not end in ".tmp" or ".inprogress" (write
//  a file under such a name, then rename it into place: a file must be complete once visible),
//  and matches glob (fnmatch(3) on the name; NULL or "": every file). Subdirectories are not
//  read. Each name is read once, even if the file is later replaced.
typedef struct {
    bool continuous;      //  false: read the files there at the start, then end
    int poll_interval_ms; //  continuous: how often the directory is listed (0: the default)
    const char *glob;     //  copied
} rill_directory_options_t;

//  A source of the lines of the files in directory `path` (options NULL: the defaults). Files
//  are spread over the subtasks by a hash of their name; a checkpoint saves the names done
//  and the offset in the file being read, and a restore (at any parallelism: each file goes to
//  the subtask its name hashes to there) reads on from there, each line once. A bounded source
//  reads, after a restore, the files it had found when it first started. NULL with
//  rill_env_error set when the directory cannot be read.
RILL_EXPORT rill_stream_t *rill_env_from_directory(rill_env_t *env, const char *path,
                                                   const rill_directory_options_t *options);

//  A parsed input URL: "dir://PATH?continuous=1&poll=500ms&glob=*.log" (parameters optional;
//  poll takes ms, s, m or h, a bare number is ms) or a plain path.
typedef struct {
    char path[RILL_FILES_PATH_MAX];
    char glob[RILL_FILES_NAME_MAX];
    rill_directory_options_t options; //  options.glob points at glob (or is NULL) of this struct
} rill_directory_url_t;

//  Parses url into out. 0, or -1 with a message in error (error_size bytes) for a bad URL.
//  Does not look at the file system.
RILL_EXPORT int rill_directory_url_parse(const char *url, rill_directory_url_t *out, char *error,
                                         size_t error_size);
//  Whether url is meant for the directory source: it starts with "dir://", or it names an
//  existing directory.
RILL_EXPORT bool rill_directory_url_matches(const char *url);
//  rill_env_from_directory on a parsed url; NULL with rill_env_error set (a bad URL too).
RILL_EXPORT rill_stream_t *rill_env_from_directory_url(rill_env_t *env, const char *url);

//  ---- rolling file sink

//  Longest bucket name (bytes, with the NUL).
#define RILL_BUCKET_MAX 256

//  Writes the bucket of record into bucket (size bytes, NUL-terminated): a subdirectory name of
//  the base directory (no '/', not starting with '.'), or "" for the base directory itself.
//  0, or -1 to fail the job.
typedef int (*rill_bucket_fn)(const rill_record_t *record, char *bucket, size_t size, void *ctx);

//  A ready-made bucket function: the hour of the record's event time, UTC, as Flink's
//  DateTimeBucketAssigner names it ("2026-11-27--10"); a record without a timestamp takes the
//  hour of the wall clock when it is written.
RILL_EXPORT int rill_bucket_by_hour(const rill_record_t *record, char *bucket, size_t size,
                                    void *ctx);

//  How a rolling sink writes (all zero: one bucket, parts of 128 MiB at most, no time rolls).
//  A part file is rolled (closed) before a record would take it past max_part_bytes, when it
//  has been open rollover_ms, or when nothing was written to it for inactivity_ms.
typedef struct {
    rill_bucket_fn bucket; //  NULL: everything in the base directory
    void *bucket_ctx;
    uint64_t max_part_bytes; //  0: RILL_ROLLING_DEFAULT_PART_BYTES
    int64_t rollover_ms;     //  0: never by age
    int64_t inactivity_ms;   //  0: never by inactivity
    const char *prefix;      //  part names; NULL: "part" (copied)
    const char *suffix;      //  NULL: none, else e.g. ".txt" (copied)
} rill_rolling_options_t;

#define RILL_ROLLING_DEFAULT_PART_BYTES (128ULL * 1024 * 1024)

//  A sink that writes each record as a line into part files under base_dir/BUCKET/:
//  ".PREFIX-S-N.inprogress" while written (S the subtask, N its part counter), renamed
//  ".PREFIX-S-N.pending" when rolled, and "PREFIX-S-N" (committed) when the first checkpoint
//  after the roll completes; exactly once with checkpoints. Without checkpoints everything is
//  committed when the input ends. NULL with rill_env_error set when base_dir cannot be made or
//  written, or is the directory a directory source of this job reads.
RILL_EXPORT rill_stream_t *rill_stream_to_rolling_files(rill_stream_t *in, const char *base_dir,
                                                        const rill_rolling_options_t *options);

//  A parsed output URL: "rolling://DIR?size=64M&interval=15m&inactivity=1m&bucket=hour
//  &prefix=part&suffix=.txt" (parameters optional; sizes take K, M, G; times ms, s, m, h;
//  bucket is "none" or "hour").
typedef struct {
    char base_dir[RILL_FILES_PATH_MAX];
    char prefix[RILL_FILES_NAME_MAX];
    char suffix[RILL_FILES_NAME_MAX];
    rill_rolling_options_t options; //  prefix and suffix point into this struct (or are NULL)
} rill_rolling_url_t;

//  Parses url into out. 0, or -1 with a message in error for a bad URL. Does not look at the
//  file system.
RILL_EXPORT int rill_rolling_url_parse(const char *url, rill_rolling_url_t *out, char *error,
                                       size_t error_size);
//  Whether url starts with "rolling://".
RILL_EXPORT bool rill_rolling_url_matches(const char *url);
//  rill_stream_to_rolling_files on a parsed url; NULL with rill_env_error set.
RILL_EXPORT rill_stream_t *rill_stream_to_rolling_files_url(rill_stream_t *in, const char *url);

#ifdef __cplusplus
}
#endif
#endif
