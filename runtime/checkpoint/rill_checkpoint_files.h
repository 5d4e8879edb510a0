/*  rill_checkpoint_files.h: the file steps the checkpoint directory (rill_checkpoint_dir.c)
    and the loader (rill_checkpoint.c) share: the names of the layout, a durable atomic write
    (temporary file, write, fsync, rename, fsync of the folder), reading a file whole, listing
    a store's checkpoint folders and removing one. Every function reports into the caller's
    buffer and keeps no state, so subtask threads may call them at once. */
#ifndef RILL_CHECKPOINT_FILES_H_INCLUDED
#define RILL_CHECKPOINT_FILES_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

//  DIR/chk-<id>/ holds one checkpoint; DIR/chk-<id>/_metadata marks it complete.
#define RILL_CHECKPOINT_FOLDER_PREFIX "chk-"
#define RILL_CHECKPOINT_METADATA "_metadata"

//  Formats the text into error (which may be NULL) and returns -1, so that a function can
//  `return rill_checkpoint_fail(...)`.
int rill_checkpoint_fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

//  path = dir/chk-<checkpoint>. 0, or -1 with a message when it does not fit.
int rill_checkpoint_folder_path(char *path, size_t path_size, const char *dir, int64_t checkpoint,
                                char *error, size_t error_size);
//  path = folder/name. 0, or -1 with a message when it does not fit.
int rill_checkpoint_join(char *path, size_t path_size, const char *folder, const char *name,
                         char *error, size_t error_size);

//  1 with *checkpoint set when name is a checkpoint folder's ("chk-" then decimal digits with
//  no leading zero, so one id has one folder), else 0.
int rill_checkpoint_folder_id(const char *name, int64_t *checkpoint);

//  Makes folder (and its missing parents) a directory; an existing one is fine, so threads
//  may race to create the same folder. 0, or -1 with a message.
int rill_checkpoint_make_folder(const char *folder, char *error, size_t error_size);

//  Writes folder/name atomically and durably: a temporary file in folder, write, fsync,
//  rename over name, fsync of folder. Readers see the old file or the whole new one, never a
//  part. 0, or -1 with a message (the temporary file removed).
int rill_checkpoint_write_file(const char *folder, const char *name, const void *data, size_t size,
                               char *error, size_t error_size);

//  fsync of a directory, making the names created or removed in it durable. 0, or -1.
int rill_checkpoint_sync_folder(const char *folder, char *error, size_t error_size);

//  Reads the file at path whole into *data (malloc'd, the caller frees; one NUL byte past the
//  end, so text may be read as a string) and its length into *size. 0, or -1 with a message
//  (errno kept: ENOENT for a missing file).
int rill_checkpoint_read_file(const char *path, uint8_t **data, size_t *size, char *error,
                              size_t error_size);

//  The ids of dir's checkpoint folders, ascending, into *ids (malloc'd, the caller frees;
//  NULL when none). The count, or -1 with a message.
int rill_checkpoint_list(const char *dir, int64_t **ids, char *error, size_t error_size);

//  Whether folder/_metadata exists (a completed checkpoint). 1, 0, or -1 with a message when
//  it cannot be told (a permission error, say).
int rill_checkpoint_is_complete(const char *folder, char *error, size_t error_size);

//  Removes a checkpoint folder: its _metadata first (so a removal cut short never leaves a
//  completed checkpoint missing files), then its other files, then the folder. A missing
//  folder is fine. 0, or -1 with a message.
int rill_checkpoint_remove_folder(const char *folder, char *error, size_t error_size);

#endif
