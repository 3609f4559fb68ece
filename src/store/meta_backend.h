/* meta_backend.h - what a metadata backend implements (for backend authors
 * only; callers use store/meta.h).
 *
 * A backend defines a struct whose first member is `struct rl_meta` (so a
 * pointer to one is a pointer to the other), fills a static rl_meta_ops table
 * and returns &its_struct.base from its open function. The rl_meta_* wrappers
 * in meta.c have validated every argument before an op runs: required
 * strings are non-NULL, UTF-8 and within bounds, enums in range, hashes are
 * lowercase hex, model blob and sha are both set or both NULL. An op must
 * still honour every contract written in meta.h: atomicity, durability on
 * RL_OK, RL_ENOTFOUND/RL_EEXIST/RL_ESTATE as stated, out-parameters written
 * only on success, and being callable from many threads at once.
 *
 * The unit tests in tests/unit/test_meta.c are written against meta.h and are
 * meant to be run against every backend.
 */
#ifndef RL_STORE_META_BACKEND_H
#define RL_STORE_META_BACKEND_H

#include "store/meta.h"

typedef struct rl_meta_ops {
    const char *name;
    void (*close)(rl_meta *m);
    int (*check)(rl_meta *m, rl_error *err);

    int (*workspace_create)(rl_meta *m, const rl_workspace *w, rl_error *err);
    int (*workspace_get)(rl_meta *m, const char *id, rl_workspace **out, rl_error *err);
    int (*workspace_list)(rl_meta *m, rl_workspace **out, size_t *n, rl_error *err);
    int (*workspace_delete)(rl_meta *m, const char *id, rl_error *err);

    int (*service_create)(rl_meta *m, const rl_service *s, const rl_endpoint *default_ep,
                          const rl_history_entry *publish, rl_error *err);
    int (*service_get)(rl_meta *m, const char *id, rl_service **out, rl_error *err);
    int (*service_list)(rl_meta *m, const char *workspace_id, rl_service **out, size_t *n,
                        rl_error *err);
    int (*service_update)(rl_meta *m, const rl_service *s, rl_error *err);
    int (*service_link)(rl_meta *m, const char *a, const char *b, rl_error *err);
    int (*service_delete)(rl_meta *m, const char *id, rl_error *err);

    int (*endpoint_create)(rl_meta *m, const rl_endpoint *e, const rl_history_entry *initial,
                           rl_error *err);
    int (*endpoint_get)(rl_meta *m, const char *service_id, const char *name, rl_endpoint **out,
                        rl_error *err);
    int (*endpoint_list)(rl_meta *m, const char *service_id, rl_endpoint **out, size_t *n,
                         rl_error *err);
    int (*endpoint_update)(rl_meta *m, const rl_endpoint *e, rl_error *err);
    int (*endpoint_set_model)(rl_meta *m, const char *service_id, const char *name,
                              const char *model_blob, const char *model_sha256,
                              const rl_history_entry *entry, int64_t expected_version,
                              int64_t *new_version, rl_error *err);
    int (*endpoint_delete)(rl_meta *m, const char *service_id, const char *name, rl_error *err);

    int (*history_list)(rl_meta *m, const char *service_id, const char *endpoint,
                        rl_history_entry **out, size_t *n, rl_error *err);
    int (*history_get)(rl_meta *m, const char *service_id, const char *endpoint, int64_t seq,
                       rl_history_entry **out, rl_error *err);
    int (*history_find_job)(rl_meta *m, const char *service_id, const char *endpoint,
                            const char *model_blob, char *job_id, rl_error *err);
    int (*blob_referenced)(rl_meta *m, const char *address, int *referenced, rl_error *err);

    int (*job_create)(rl_meta *m, const rl_job *j, rl_error *err);
    int (*job_get)(rl_meta *m, const char *id, rl_job **out, rl_error *err);
    int (*job_list)(rl_meta *m, const char *service_id, rl_job **out, size_t *n, rl_error *err);
    int (*job_find_by_result)(rl_meta *m, const char *service_id, const char *text, char *id,
                              rl_error *err);
    int (*job_list_runnable)(rl_meta *m, rl_job **out, size_t *n, rl_error *err);
    int (*job_start_request)(rl_meta *m, const char *id, rl_error *err);
    int (*job_claim)(rl_meta *m, const char *id, int64_t now, rl_error *err);
    int (*job_cancel)(rl_meta *m, const char *id, const char *reason, int64_t now, rl_error *err);
    int (*job_finish)(rl_meta *m, const char *id, rl_job_status status, const char *results_json,
                      const char *details, int64_t now, rl_error *err);
    int (*job_requeue)(rl_meta *m, const char *id, rl_error *err);
    int (*job_delete)(rl_meta *m, const char *id, rl_error *err);
    int (*job_set_progress)(rl_meta *m, const char *id, double progress, rl_error *err);
    int (*job_set_results)(rl_meta *m, const char *id, const char *results_json, rl_error *err);
    int (*jobs_recover)(rl_meta *m, int max_attempts, int64_t now, size_t *requeued, size_t *failed,
                        rl_error *err);
} rl_meta_ops;

struct rl_meta {
    const rl_meta_ops *ops;
};

/* Frees the strings of an entity without freeing the struct (backends use
 * these to clean up partly filled entities and list elements). */
void rl_workspace_fini(rl_workspace *w);
void rl_service_fini(rl_service *s);
void rl_endpoint_fini(rl_endpoint *e);
void rl_history_entry_fini(rl_history_entry *h);
void rl_job_fini(rl_job *j);

#endif
