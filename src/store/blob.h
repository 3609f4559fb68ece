/* blob.h - the blob store: data sets, models and job outputs by address,
 * behind an interface with swappable backends.
 *
 * An address is "container/path/inside", like an Azure blob URL's path:
 *   container  3-63 characters of [a-z0-9-], starting and ending with a letter
 *              or digit, no "--" (Azure's rule);
 *   path       1-254 segments separated by '/', none empty, "." or "..";
 *              no backslash, no control character (bytes < 0x20 and 0x7f), no
 *              "%" followed by two hex digits, well-formed UTF-8;
 *   the whole  at most RL_BLOB_ADDRESS_MAX bytes.
 * The HTTP layer percent-decodes URLs before it calls the store; a "%2e%2e"
 * still here means something was decoded twice or not at all, so it is
 * refused rather than guessed at. Anything that could name a place outside
 * the store is refused with RL_EINVAL before a backend sees it.
 *
 * Every write is atomic: readers see the old blob or the new one, never a
 * part, also after a crash; when a write returns RL_OK it is durable. Each
 * blob's SHA-256 and size are recorded at commit time; rl_blob_get checks the
 * content against them, rl_blob_verify and rl_blob_check do so on demand.
 *
 * Large uploads: rl_blob_tmp_open gives a private temporary file of the store;
 * the caller writes into it and rl_blob_commit_tmp publishes it at an address
 * in one step (or rl_blob_tmp_discard drops it). A half-written upload never
 * appears at any address, and leftovers of a crash are removed at open.
 *
 * The local backend (rl_blob_open_local, blob_local.c) keeps a directory;
 * details and its layout in docs/store.md. Other backends implement
 * store/blob_backend.h.
 *
 * Ownership: results are owned by the caller (free data and paths with
 * rl_free, lists with rl_blob_list_free); arguments are borrowed.
 * Thread safety: a store may be used from any number of threads at once;
 * rl_blob_close once, after every other call has returned.
 * Errors: RL_EINVAL (bad address or argument), RL_ENOTFOUND (no such blob),
 * RL_EFORBIDDEN (a symbolic link or other foreign entry where the store
 * expects its own), RL_EFORMAT (a damaged blob or store, or a store of a newer
 * format), RL_ETOOBIG, RL_EBUSY (the store is open in another process),
 * RL_ESTATE (an operation the backend does not offer), RL_EIO, RL_ENOMEM.
 */
#ifndef RL_STORE_BLOB_H
#define RL_STORE_BLOB_H

#include "base/crypto.h"
#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

#define RL_BLOB_ADDRESS_MAX 1024 /* bytes, without the NUL */
#define RL_BLOB_SEGMENTS_MAX 254 /* path segments after the container */

typedef struct rl_blob_store rl_blob_store;

typedef struct rl_blob_info {
    uint64_t size;
    int64_t mtime;                   /* Unix milliseconds of the commit */
    char sha256[RL_SHA256_HEX_SIZE]; /* lowercase hex, recorded at commit */
} rl_blob_info;

typedef struct rl_blob_entry {
    char *name; /* the path inside the container (without "container/") */
    rl_blob_info info;
} rl_blob_entry;

/* RL_OK when address is valid by the rules above, else RL_EINVAL saying
 * which rule it breaks and where. Pure: touches no store. */
int rl_blob_address_check(const char *address, rl_error *err);

/* RL_OK when container is a valid container name. */
int rl_blob_container_check(const char *container, rl_error *err);

/* Opens the local store rooted at the directory root, creating it (and its
 * parents) when missing. An existing directory must be empty or a store of
 * this or an older format. Removes temporary files and unreferenced objects
 * left by a crash. Takes an exclusive lock on the directory: a second open
 * of the same root, in this or another process, fails with RL_EBUSY until
 * the first is closed. The result is owned by the caller (rl_blob_close). */
int rl_blob_open_local(const char *root, rl_blob_store **out, rl_error *err);

/* Closes the store and frees it; NULL is fine. */
void rl_blob_close(rl_blob_store *s);

/* The backend's name ("local"). */
const char *rl_blob_backend(const rl_blob_store *s);

/* Writes len bytes of data at address, replacing any blob there. *info (may
 * be NULL) receives what was recorded. */
int rl_blob_put(rl_blob_store *s, const char *address, const void *data, size_t len,
                rl_blob_info *info, rl_error *err);

/* Writes the content of the local file at path at address. With move set
 * the file is moved into the store (renamed when on the same file system,
 * else copied and then removed); otherwise it is copied and left alone. */
int rl_blob_put_file(rl_blob_store *s, const char *address, const char *path, int move,
                     rl_blob_info *info, rl_error *err);

/* Creates a new, empty temporary file in the store. *fd (open for reading
 * and writing) and *tmp_path (owned by the caller, rl_free) are set. Write
 * the content, close *fd, then rl_blob_commit_tmp or rl_blob_tmp_discard.
 * The fd need not be synced: commit does it. */
int rl_blob_tmp_open(rl_blob_store *s, int *fd, char **tmp_path, rl_error *err);

/* Publishes the temporary file tmp_path (from rl_blob_tmp_open of this
 * store, and nothing else: RL_EINVAL otherwise) at address, replacing any
 * blob there. On success the temporary file is gone; on failure it is kept
 * (discard it). The file is read once to record its SHA-256. */
int rl_blob_commit_tmp(rl_blob_store *s, const char *tmp_path, const char *address,
                       rl_blob_info *info, rl_error *err);

/* Removes a temporary file that will not be committed. Ignores a tmp_path
 * that is not one of this store's temporary files. */
void rl_blob_tmp_discard(rl_blob_store *s, const char *tmp_path);

/* Reads the blob into memory: *data (NUL-terminated past *len, owned by the
 * caller, rl_free) and *len. Checks size and SHA-256 against the commit:
 * RL_EFORMAT when they differ (the blob is damaged). max > 0 refuses blobs
 * larger than max bytes with RL_ETOOBIG before reading. *info may be NULL. */
int rl_blob_get(rl_blob_store *s, const char *address, size_t max, char **data, size_t *len,
                rl_blob_info *info, rl_error *err);

/* Opens the blob for reading without loading it: *fd (the caller closes it)
 * reads exactly the committed content and stays valid even if the blob is
 * replaced or deleted meanwhile. The content is not checked here (compare
 * its SHA-256 with info->sha256 while streaming, or call rl_blob_verify).
 * RL_ESTATE for backends without local files. */
int rl_blob_open_read(rl_blob_store *s, const char *address, int *fd, rl_blob_info *info,
                      rl_error *err);

/* The absolute path of the local file that holds the blob's content, for
 * tools that need a file name (*path owned by the caller, rl_free). The path
 * stays valid until the blob is replaced or deleted; prefer
 * rl_blob_open_read where a descriptor will do. RL_ESTATE for backends
 * without local files. */
int rl_blob_local_path(rl_blob_store *s, const char *address, char **path, rl_blob_info *info,
                       rl_error *err);

/* What was recorded when the blob was committed. */
int rl_blob_stat(rl_blob_store *s, const char *address, rl_blob_info *info, rl_error *err);

/* Re-reads the blob and checks its size and SHA-256: RL_OK when whole,
 * RL_EFORMAT naming both digests when not. */
int rl_blob_verify(rl_blob_store *s, const char *address, rl_error *err);

/* The blobs of container whose path starts with prefix (NULL or "" for
 * all), sorted by path (bytewise). A container without blobs gives *n == 0.
 * Free with rl_blob_list_free. */
int rl_blob_list(rl_blob_store *s, const char *container, const char *prefix, rl_blob_entry **out,
                 size_t *n, rl_error *err);
void rl_blob_list_free(rl_blob_entry *v, size_t n);

/* Deletes the blob; RL_ENOTFOUND when there is none. (Whether a model blob
 * is still in use is the metadata store's to say: rl_meta_blob_referenced.) */
int rl_blob_delete(rl_blob_store *s, const char *address, rl_error *err);

/* Verifies every blob of the store (for crash tests and `relearn doctor`).
 * *checked (may be NULL) receives how many were checked. RL_EFORMAT naming
 * the first damaged blobs when any is. */
int rl_blob_check(rl_blob_store *s, size_t *checked, rl_error *err);

#endif

/* ---- workspaces (blob_ws.c) ----
 * Each workspace has its own blob namespace inside the one store: what a
 * client calls "container/path" is kept at "container/WORKSPACE/path", so
 * one workspace's token or signed URL never reaches another's blobs.
 * Clients only ever see the external form. */

/* The internal address of external "container/path" in workspace ws, into
 * out (RL_BLOB_ADDRESS_MAX + 1 bytes). RL_EINVAL when either is malformed. */
int rl_blob_ws_address(const char *ws, const char *external, char *out, size_t size,
                       rl_error *err);
/* The external "container/path" of an internal address into out; RL_EINVAL
 * when it has no workspace segment. *ws_out (may be NULL) receives the
 * workspace (at most 64 bytes + NUL). */
int rl_blob_ws_external(const char *internal, char *out, size_t size, char *ws_out,
                        size_t ws_size, rl_error *err);
