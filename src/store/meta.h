/* meta.h - the metadata store: workspaces, web services, endpoints, model
 * history and batch jobs, behind an interface with swappable backends.
 *
 * The idea: everything relearnd must remember across restarts, except the
 * bytes of data sets and models (those live in the blob store, store/blob.h),
 * is a row here. Callers see an opaque rl_meta and call rl_meta_* functions;
 * each dispatches through the backend's ops table (store/meta_backend.h), after
 * the checks common to every backend (required fields, enum ranges, lengths,
 * UTF-8). SQLite is the first backend (rl_meta_open_sqlite, meta_sqlite.c); a
 * PostgreSQL one can follow without touching callers.
 *
 * Entities are plain structs. Functions that return one (_get) or many
 * (_list) allocate them; the caller owns the result and frees it with the
 * entity's _free / _list_free. Functions that take one (_create, _update)
 * borrow it for the duration of the call. Strings are NUL-terminated UTF-8,
 * allocated with rl_malloc; "nullable" fields may be NULL. Times are Unix
 * milliseconds; 0 in a time field means "not yet" (a job not started).
 *
 * Guarantees: when a write returns RL_OK it is durable (it survives a crash
 * or power loss of the machine right after). Every function is atomic: a
 * function that changes several rows changes all or none of them. Lookups of
 * a missing thing return RL_ENOTFOUND naming it; creating something whose key
 * exists returns RL_EEXIST; a job transition that is not allowed from the
 * job's current status returns RL_ESTATE naming the status.
 *
 * Thread safety: an rl_meta may be used from any number of threads at once
 * (libmicrohttpd's pool and the job workers share one); rl_meta_close must
 * be called once, after every other call has returned.
 * Errors: RL_EINVAL (bad argument), RL_ENOTFOUND, RL_EEXIST, RL_ESTATE,
 * RL_EFORMAT (database newer than this program, foreign or corrupt), RL_EBUSY
 * (the database stayed locked by another process), RL_EIO, RL_ENOMEM.
 */
#ifndef RL_STORE_META_H
#define RL_STORE_META_H

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

/* The schema version this program writes; older databases are upgraded at
 * open, newer ones refused. */
#define RL_META_SCHEMA_VERSION 1

/* Bounds checked for every backend (bytes, excluding the NUL). */
#define RL_META_ID_MAX 256           /* ids and names */
#define RL_META_TEXT_MAX 65536       /* descriptions, credentials, details, key nonces */
#define RL_META_JSON_MAX (64u << 20) /* experiment, request, results, evaluation JSON */

typedef struct rl_meta rl_meta;

/* ---- enumerations (stored as the Studio strings shown beside them) ---- */

typedef enum rl_service_kind {
    RL_SERVICE_TRAINING = 1,   /* "training" */
    RL_SERVICE_PREDICTIVE = 2, /* "predictive" */
} rl_service_kind;

typedef enum rl_throttle {
    RL_THROTTLE_LOW = 1,  /* "Low" */
    RL_THROTTLE_HIGH = 2, /* "High" */
} rl_throttle;

typedef enum rl_trace_level {
    RL_TRACE_NONE = 1,  /* "None" */
    RL_TRACE_ERROR = 2, /* "Error" */
    RL_TRACE_ALL = 3,   /* "All" */
} rl_trace_level;

typedef enum rl_history_action {
    RL_ACTION_PUBLISH = 1,           /* "publish" */
    RL_ACTION_UPDATE_RESOURCE = 2,   /* "update-resource" */
    RL_ACTION_DEFINITION_UPDATE = 3, /* "definition-update" */
    RL_ACTION_ROLLBACK = 4,          /* "rollback" */
    RL_ACTION_REFRESH = 5,           /* "refresh" */
} rl_history_action;

typedef enum rl_job_status {
    RL_JOB_NOT_STARTED = 1, /* "NotStarted" (created, or started but still queued) */
    RL_JOB_RUNNING = 2,     /* "Running" */
    RL_JOB_FAILED = 3,      /* "Failed" */
    RL_JOB_CANCELLED = 4,   /* "Cancelled" */
    RL_JOB_FINISHED = 5,    /* "Finished" */
} rl_job_status;

/* The Studio string of each value ("training", "Low", "Finished", ...), or
 * "?" for a value out of range. Static strings. */
const char *rl_service_kind_name(rl_service_kind k);
const char *rl_throttle_name(rl_throttle t);
const char *rl_trace_level_name(rl_trace_level t);
const char *rl_history_action_name(rl_history_action a);
const char *rl_job_status_name(rl_job_status s);

/* The value named by s (exact, case-sensitive Studio spelling); RL_EINVAL
 * listing the accepted names otherwise. *out is written only on success. */
int rl_service_kind_parse(const char *s, rl_service_kind *out, rl_error *err);
int rl_throttle_parse(const char *s, rl_throttle *out, rl_error *err);
int rl_trace_level_parse(const char *s, rl_trace_level *out, rl_error *err);
int rl_history_action_parse(const char *s, rl_history_action *out, rl_error *err);
int rl_job_status_parse(const char *s, rl_job_status *out, rl_error *err);

/* ---- entities ---- */

typedef struct rl_workspace {
    char *id;         /* e.g. "default"; unique */
    char *token_hash; /* 64 lowercase hex digits: SHA-256 of the management token */
    int64_t created;
} rl_workspace;

typedef struct rl_service {
    char *id;           /* 32 hex digits (rl_random_hex(16, ...)); unique */
    char *workspace_id; /* must exist */
    char *name;         /* any text; not unique (Studio allows duplicates) */
    char *description;  /* nullable */
    rl_service_kind kind;
    char *experiment_json;     /* the experiment graph; opaque text here */
    char *model_resource_name; /* nullable; e.g. "Census income [trained model]" */
    char *partner_id;          /* nullable: the predictive partner of a training
                                  service or vice versa; cleared when it is deleted */
    int64_t created;
} rl_service;

typedef struct rl_endpoint {
    char *service_id;  /* must exist */
    char *name;        /* unique within its service */
    char *description; /* nullable */
    int64_t created;
    char *primary_key_hash; /* hex SHA-256 of the keys (never the keys) */
    char *secondary_key_hash;
    char *key_nonce_primary; /* nonces the HTTP layer derives keys from */
    char *key_nonce_secondary;
    rl_throttle throttle_level;
    int max_concurrent_calls; /* 1..1000 */
    rl_trace_level diagnostics_trace_level;
    char *model_blob;   /* nullable "container/path" of the trained model */
    char *model_sha256; /* nullable (exactly when model_blob is); 64 hex digits */
    int64_t version;    /* 1 at creation, +1 at every rl_meta_endpoint_set_model */
    int is_default;     /* 0/1; at most one default endpoint per service */
} rl_endpoint;

typedef struct rl_history_entry {
    char *service_id;
    char *endpoint;
    int64_t seq; /* 1, 2, 3... per endpoint, in order of change */
    int64_t time;
    char *credential; /* who made the change ("workspace token", "endpoint
                         default primary key"...), never a secret */
    char *job_id;     /* nullable: the retraining job that produced the model */
    char *model_blob; /* nullable, as in rl_endpoint */
    char *model_sha256;
    char *evaluation_json; /* nullable */
    rl_history_action action;
} rl_history_entry;

typedef struct rl_job {
    char *id; /* 32 hex digits; unique */
    char *service_id;
    char *endpoint;
    rl_job_status status;
    int start_requested; /* NotStarted jobs: 1 once the client asked to start
                            it (queued), 0 while merely submitted */
    char *request_json;
    char *results_json; /* nullable */
    char *details;      /* nullable: the reason of a failure or cancellation */
    double progress;    /* 0..1 */
    int64_t created;
    int64_t started;  /* 0 until it first runs */
    int64_t finished; /* 0 until Failed, Cancelled or Finished */
    int attempts;     /* how many times a worker claimed it */
} rl_job;

/* Free one entity and its strings; NULL is fine. */
void rl_workspace_free(rl_workspace *w);
void rl_service_free(rl_service *s);
void rl_endpoint_free(rl_endpoint *e);
void rl_history_entry_free(rl_history_entry *h);
void rl_job_free(rl_job *j);
/* Free an array of n entities returned by a _list function; NULL is fine. */
void rl_workspace_list_free(rl_workspace *v, size_t n);
void rl_service_list_free(rl_service *v, size_t n);
void rl_endpoint_list_free(rl_endpoint *v, size_t n);
void rl_history_list_free(rl_history_entry *v, size_t n);
void rl_job_list_free(rl_job *v, size_t n);

/* ---- opening ---- */

/* Opens (creating if needed) the SQLite database at path, upgrades an older
 * schema, refuses a newer one (RL_EFORMAT saying which versions) or a file that
 * is not a relearn database. path must name a file (":memory:" is refused:
 * the store keeps several connections to one database). The result is owned by
 * the caller (rl_meta_close). Details in docs/store.md. */
int rl_meta_open_sqlite(const char *path, rl_meta **out, rl_error *err);

/* Closes the store and frees it; NULL is fine. No call may be in progress. */
void rl_meta_close(rl_meta *m);

/* The backend's name ("sqlite"). */
const char *rl_meta_backend(const rl_meta *m);

/* Checks the database's own consistency (SQLite: PRAGMA integrity_check and
 * foreign_key_check). RL_OK when sound, RL_EFORMAT with the first problems in
 * the message otherwise. For crash tests and `relearn doctor`. */
int rl_meta_check(rl_meta *m, rl_error *err);

/* ---- workspaces ---- */

/* RL_EEXIST if w->id exists. */
int rl_meta_workspace_create(rl_meta *m, const rl_workspace *w, rl_error *err);
int rl_meta_workspace_get(rl_meta *m, const char *id, rl_workspace **out, rl_error *err);
/* All workspaces ordered by id. *out is NULL when *n is 0. */
int rl_meta_workspace_list(rl_meta *m, rl_workspace **out, size_t *n, rl_error *err);
/* Deletes the workspace and, in the same transaction, its services with
 * their endpoints, history and jobs. */
int rl_meta_workspace_delete(rl_meta *m, const char *id, rl_error *err);

/* ---- services ---- */

/* Creates s and, when default_ep is not NULL, its first endpoint (whose
 * service_id is taken from s) and, when publish is also not NULL, that
 * endpoint's first history entry (seq 1; its service_id, endpoint, seq,
 * model_blob and model_sha256 come from s and default_ep): all in one
 * transaction. RL_ENOTFOUND if the workspace or partner does not exist,
 * RL_EEXIST if s->id does. */
int rl_meta_service_create(rl_meta *m, const rl_service *s, const rl_endpoint *default_ep,
                           const rl_history_entry *publish, rl_error *err);
int rl_meta_service_get(rl_meta *m, const char *id, rl_service **out, rl_error *err);
/* The services of a workspace, oldest first. RL_ENOTFOUND for a missing
 * workspace (an existing one with no services gives *n == 0). */
int rl_meta_service_list(rl_meta *m, const char *workspace_id, rl_service **out, size_t *n,
                         rl_error *err);
/* Rewrites name, description, experiment_json, model_resource_name and
 * partner_id of the service s->id; the other fields must match or are
 * ignored (id, workspace_id, kind, created never change). */
int rl_meta_service_update(rl_meta *m, const rl_service *s, rl_error *err);
/* Sets a's partner to b and b's partner to a in one transaction; either may
 * be NULL to unlink the other (which must then not be NULL). */
int rl_meta_service_link(rl_meta *m, const char *a, const char *b, rl_error *err);
/* Deletes the service with its endpoints, history and jobs; a partner's
 * partner_id becomes NULL. */
int rl_meta_service_delete(rl_meta *m, const char *id, rl_error *err);

/* ---- endpoints ---- */

/* Creates e (version 1) and, when initial is not NULL, its history entry seq
 * 1 with e's model, in one transaction. RL_EEXIST for a taken name or when
 * e->is_default and the service has a default endpoint already. */
int rl_meta_endpoint_create(rl_meta *m, const rl_endpoint *e, const rl_history_entry *initial,
                            rl_error *err);
int rl_meta_endpoint_get(rl_meta *m, const char *service_id, const char *name, rl_endpoint **out,
                         rl_error *err);
/* The endpoints of a service, default first then by name. */
int rl_meta_endpoint_list(rl_meta *m, const char *service_id, rl_endpoint **out, size_t *n,
                          rl_error *err);
/* Rewrites description, the key hashes and nonces, throttle_level,
 * max_concurrent_calls, diagnostics_trace_level and is_default of endpoint
 * (e->service_id, e->name). The model fields and version are NOT changed here:
 * use rl_meta_endpoint_set_model. */
int rl_meta_endpoint_update(rl_meta *m, const rl_endpoint *e, rl_error *err);
/* Changes the endpoint's model to model_blob/model_sha256 (both NULL or both
 * set), bumps its version and appends a history entry, all in one transaction.
 * From *entry only time, credential, job_id, evaluation_json and action are
 * used; the rest comes from the other arguments and the next seq.
 * expected_version >= 0 makes it compare-and-set: RL_ESTATE when the
 * endpoint's version is not expected_version (someone changed it meanwhile);
 * pass -1 to skip. *new_version (may be NULL) receives the version written. */
int rl_meta_endpoint_set_model(rl_meta *m, const char *service_id, const char *name,
                               const char *model_blob, const char *model_sha256,
                               const rl_history_entry *entry, int64_t expected_version,
                               int64_t *new_version, rl_error *err);
/* Deletes the endpoint and its history (not its jobs, which keep their
 * endpoint name for the record). */
int rl_meta_endpoint_delete(rl_meta *m, const char *service_id, const char *name, rl_error *err);

/* ---- endpoint history ---- */

/* The history of one endpoint, by seq ascending. RL_ENOTFOUND if the
 * endpoint does not exist. */
int rl_meta_history_list(rl_meta *m, const char *service_id, const char *endpoint,
                         rl_history_entry **out, size_t *n, rl_error *err);
/* One entry (for a rollback to seq). */
int rl_meta_history_get(rl_meta *m, const char *service_id, const char *endpoint, int64_t seq,
                        rl_history_entry **out, rl_error *err);
/* The job id of the newest history entry of the endpoint that is bound to
 * model_blob and names a job, into job_id (RL_META_ID_MAX + 1 bytes); "" when
 * none does (or there is no such endpoint). One row read, whatever the
 * history's length. */
int rl_meta_history_find_job(rl_meta *m, const char *service_id, const char *endpoint,
                             const char *model_blob, char *job_id, rl_error *err);

/* *referenced = 1 when any endpoint or history entry names the blob
 * address, else 0. A referenced blob must never be deleted. The answer is a
 * snapshot: a caller deleting blobs must serialize that with its own model
 * changes (the HTTP layer holds its model lock across check and delete). */
int rl_meta_blob_referenced(rl_meta *m, const char *address, int *referenced, rl_error *err);

/* ---- jobs ---- */

/* Creates j with status NotStarted, progress 0, attempts 0, started and
 * finished 0, results NULL; from *j only id, service_id, endpoint,
 * request_json, start_requested and created are used. The service must
 * exist (the endpoint is not checked: it may be deleted while jobs remain). */
int rl_meta_job_create(rl_meta *m, const rl_job *j, rl_error *err);
int rl_meta_job_get(rl_meta *m, const char *id, rl_job **out, rl_error *err);
/* The jobs of a service, oldest first. */
int rl_meta_job_list(rl_meta *m, const char *service_id, rl_job **out, size_t *n, rl_error *err);
/* The id of the newest job of service_id whose results JSON contains text
 * (a blob address), into id (RL_META_ID_MAX + 1 bytes); "" when none does.
 * Reads one id, not the jobs: its memory does not grow with their number. */
int rl_meta_job_find_by_result(rl_meta *m, const char *service_id, const char *text, char *id,
                               rl_error *err);
/* Jobs that should run: NotStarted with start_requested, oldest first. */
int rl_meta_job_list_runnable(rl_meta *m, rl_job **out, size_t *n, rl_error *err);

/* Compare-and-set transitions; each returns RL_ESTATE naming the current
 * status when the job is not in a status it may leave that way.
 *   start_request: NotStarted -> NotStarted with start_requested = 1
 *                  (idempotent for a job already queued)
 *   claim:         queued NotStarted -> Running; started = now (first time
 *                  only), attempts + 1, progress 0. A worker owns the job
 *                  once this returns RL_OK: of concurrent claims exactly one
 *                  succeeds.
 *   cancel:        NotStarted or Running -> Cancelled; finished = now,
 *                  details = reason (nullable).
 *   finish:        Running -> Finished or Failed (status must be one of
 *                  them); finished = now, results_json and details replaced
 *                  by the given values (nullable), progress 1 when Finished.
 *   requeue:       Running -> NotStarted with start_requested = 1,
 *                  progress 0 and the attempt given back (attempts - 1): for
 *                  an orderly stop (SIGTERM) that interrupts a job, which
 *                  then runs again after the restart without using up one
 *                  of its attempts (a crash is handled by rl_meta_jobs_recover).
 *   delete:        any status but Running. */
int rl_meta_job_start_request(rl_meta *m, const char *id, rl_error *err);
int rl_meta_job_claim(rl_meta *m, const char *id, int64_t now, rl_error *err);
int rl_meta_job_cancel(rl_meta *m, const char *id, const char *reason, int64_t now, rl_error *err);
int rl_meta_job_finish(rl_meta *m, const char *id, rl_job_status status, const char *results_json,
                       const char *details, int64_t now, rl_error *err);
int rl_meta_job_requeue(rl_meta *m, const char *id, rl_error *err);
int rl_meta_job_delete(rl_meta *m, const char *id, rl_error *err);
/* Sets the progress (0..1, RL_EINVAL otherwise) of a Running job. */
int rl_meta_job_set_progress(rl_meta *m, const char *id, double progress, rl_error *err);
/* Replaces results_json (nullable) of a Running or Finished job (partial
 * results while running, corrections after). */
int rl_meta_job_set_results(rl_meta *m, const char *id, const char *results_json, rl_error *err);

/* Startup recovery, to be called before any worker runs: every job found
 * Running was interrupted by a crash or a stop. One that has been claimed
 * fewer than max_attempts times goes back to the queue (NotStarted,
 * start_requested = 1, progress 0) to run again; one that has used its
 * attempts becomes Failed with details saying so (a job that crashes the
 * daemon is not retried forever). All in one transaction. *requeued and
 * *failed (may be NULL) receive the counts. max_attempts >= 1. */
int rl_meta_jobs_recover(rl_meta *m, int max_attempts, int64_t now, size_t *requeued,
                         size_t *failed, rl_error *err);

#endif
