/* fs.h - whole-file reads and atomic, durable writes.
 *
 * rl_file_write_atomic writes to a temporary file beside the target, fsyncs it,
 * renames it over the target and fsyncs the directory: after a crash the target
 * holds either its old bytes or the new ones, never a mix.
 *
 * Thread safety: all functions may be called from any thread.
 */
#ifndef RL_BASE_FS_H
#define RL_BASE_FS_H

#include "base/error.h"

#include <stddef.h>

/* Reads the whole file at path. On success *data (NUL-terminated past *len,
 * owned by the caller, freed with rl_free) and *len are set. */
int rl_file_read_all(const char *path, char **data, size_t *len, rl_error *err);

/* Atomically replaces path with len bytes of data (mode 0644, or 0600 when
 * private is non-zero). */
int rl_file_write_atomic(const char *path, const void *data, size_t len, int private,
                         rl_error *err);

/* The same, written in pieces: rl_file_atomic_open creates the temporary
 * file beside path, rl_file_atomic_write appends to it, and exactly one of
 * rl_file_atomic_commit (sync, rename over path, sync the directory) or
 * rl_file_atomic_abort (remove it) ends it; a failed write or commit leaves
 * only the abort to call. */
typedef struct rl_atomic_file {
    int fd;
    int private;
    char *path, *tmp;
} rl_atomic_file;
int rl_file_atomic_open(rl_atomic_file *f, const char *path, int private, rl_error *err);
int rl_file_atomic_write(rl_atomic_file *f, const void *data, size_t len, rl_error *err);
int rl_file_atomic_commit(rl_atomic_file *f, rl_error *err);
void rl_file_atomic_abort(rl_atomic_file *f);

/* Writes all len bytes to fd (retrying short writes and EINTR); -1 with
 * errno set on failure. */
int rl_fd_write_all(int fd, const void *data, size_t len);

/* Creates a directory and its missing parents (mode 0755, or 0700 when private
 * is non-zero). An existing directory is fine. */
int rl_mkdir_p(const char *path, int private, rl_error *err);

/* The extension of path without the dot ("csv", as written: compare with
 * strcasecmp), or "" when none. Borrows from path. */
const char *rl_path_ext(const char *path);

#endif
