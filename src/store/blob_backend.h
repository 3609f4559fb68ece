/* blob_backend.h - what a blob store backend implements (for backend
 * authors only; callers use store/blob.h).
 *
 * A backend defines a struct whose first member is `struct rl_blob_store`,
 * fills a static rl_blob_ops table and returns &its_struct.base from its open
 * function. The rl_blob_* wrappers in blob.c validate every address (and
 * container, prefix) before an op runs, so an op only ever sees addresses
 * that rl_blob_address_check accepts. Ops must still honour the contracts in
 * blob.h: atomic, durable writes; content checked against the recorded
 * SHA-256 on rl_blob_get; out-parameters written only on success; callable
 * from many threads at once. open_read and local_path may be NULL for
 * backends without local files (the wrapper answers RL_ESTATE).
 */
#ifndef RL_STORE_BLOB_BACKEND_H
#define RL_STORE_BLOB_BACKEND_H

#include "store/blob.h"

typedef struct rl_blob_ops {
    const char *name;
    void (*close)(rl_blob_store *s);
    int (*put)(rl_blob_store *s, const char *address, const void *data, size_t len,
               rl_blob_info *info, rl_error *err);
    int (*put_file)(rl_blob_store *s, const char *address, const char *path, int move,
                    rl_blob_info *info, rl_error *err);
    int (*tmp_open)(rl_blob_store *s, int *fd, char **tmp_path, rl_error *err);
    int (*commit_tmp)(rl_blob_store *s, const char *tmp_path, const char *address,
                      rl_blob_info *info, rl_error *err);
    void (*tmp_discard)(rl_blob_store *s, const char *tmp_path);
    int (*get)(rl_blob_store *s, const char *address, size_t max, char **data, size_t *len,
               rl_blob_info *info, rl_error *err);
    int (*open_read)(rl_blob_store *s, const char *address, int *fd, rl_blob_info *info,
                     rl_error *err);
    int (*local_path)(rl_blob_store *s, const char *address, char **path, rl_blob_info *info,
                      rl_error *err);
    int (*stat)(rl_blob_store *s, const char *address, rl_blob_info *info, rl_error *err);
    int (*verify)(rl_blob_store *s, const char *address, rl_error *err);
    int (*list)(rl_blob_store *s, const char *container, const char *prefix, rl_blob_entry **out,
                size_t *n, rl_error *err);
    int (*del)(rl_blob_store *s, const char *address, rl_error *err);
    int (*check)(rl_blob_store *s, size_t *checked, rl_error *err);
} rl_blob_ops;

struct rl_blob_store {
    const rl_blob_ops *ops;
};

#endif
