/* internal.h - what the files of the HTTP layer share (private to src/http).
 *
 * server.c owns the daemon and routes requests; reply.c is the one path by
 * which answers and errors leave; auth.c checks credentials and derives keys;
 * registry.c keeps the served endpoints and swaps their models; rrs.c,
 * manage.c, storage.c and bes.c answer their routes.
 *
 * Request memory: an rl_req lives from the first callback of a connection's
 * request to its completion notice; everything it points to is freed then.
 */
#ifndef RL_HTTP_INTERNAL_H
#define RL_HTTP_INTERNAL_H

#include "base/buf.h"
#include "base/error.h"
#include "experiment/experiment.h"
#include "http/server.h"
#include "model/model.h"
#include "store/meta.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define RL_MAX_SEGMENTS 24

struct rl_blob_store;
struct rl_jobs;

/* A served endpoint: what a request needs without touching the database. */
typedef struct rl_served {
    char api_id[33];     /* the {id} of /workspaces/{ws}/services/{id} */
    char *workspace_id;
    char *service_id;
    char *endpoint;      /* the endpoint's name */
    rl_service_kind kind;
    char primary_hash[65], secondary_hash[65];
    atomic_int max_concurrent; /* changed in place by a PUT of the settings */
    atomic_int inflight;  /* calls in flight, counted on `calls` (see below) */
    struct rl_served *calls; /* the entry that counts this endpoint's calls: itself,
                                or the entry it replaced (referenced), so a refresh
                                never resets the count */
    pthread_mutex_t lock; /* guards model, model_blob, version and experiment */
    rl_model *model;      /* predictive endpoints; NULL for training services */
    char *model_blob;
    int64_t version;
    rl_experiment *experiment; /* what RRS and BES run */
    long refs;                 /* guarded by the registry lock */
    _Atomic int64_t last_used; /* unix ms of the last call, for idle unloading */
    int pinned;                /* model kept loaded (--preload-models) */
} rl_served;

struct rl_cached {
    char *address;
    char sha256[65]; /* of the blob the model was loaded from */
    rl_model *model;
};

typedef struct rl_registry {
    pthread_rwlock_t lock;
    rl_served **items;
    size_t n, cap;
    pthread_mutex_t cache_lock; /* guards the model cache below */
    struct rl_cached *cache;
    size_t ncache, capcache;
} rl_registry;

struct rl_server {
    rl_server_config cfg;
    char *data_dir;
    char public_url[512];
    rl_meta *meta;
    struct rl_blob_store *blobs;
    uint8_t secret[32];
    uint8_t sas_secret[32]; /* HMAC(secret, "relearn blob tokens"): signs blob tokens */
    char admin_hash[65];  /* the default workspace's token hash: the admin token */
    struct MHD_Daemon *mhd;
    char *tls_cert, *tls_key; /* PEM text (cfg.tls_*), kept while mhd runs */
    int port;
    int quiesced_fd;          /* the listening socket MHD_quiesce_daemon gave back, or -1 */
    rl_registry reg;
    struct rl_jobs *jobs;
    pthread_mutex_t model_change; /* serializes model changes and blob deletes */
    pthread_mutex_t log_lock;
    atomic_int requests; /* requests begun and not yet completed */
    pthread_t janitor;   /* unloads idle models */
    int janitor_running;
    pthread_mutex_t janitor_lock;
    pthread_cond_t janitor_wake;
    int stopping;        /* guarded by janitor_lock */
};

typedef struct rl_req {
    rl_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char *path;                      /* decoded, owned */
    char *seg[RL_MAX_SEGMENTS];      /* into segbuf */
    int nseg;
    char *segbuf;
    rl_buf body;
    size_t limit;
    int too_big;
    int upload_fd;                   /* streaming blob upload, or -1 */
    char *upload_addr;               /* its internal address, once authorized */
    char *upload_ext;                /* and the external one */
    char *upload_tmp;
    size_t upload_len;
    int upload_failed;
    int status;
    size_t sent;
    double t0;
    int answered;
    rl_served *call_sv;              /* an RRS call counted in flight there, referenced */
    int over_limit;                  /* it arrived past the endpoint's MaxConcurrentCalls */
} rl_req;

/* ---- reply.c: the one way out ---- */
enum MHD_Result rl_reply_json(rl_req *r, int status, json_t *j); /* takes j */
enum MHD_Result rl_reply_text(rl_req *r, int status, const char *ctype, char *data, size_t len);
enum MHD_Result rl_reply_empty(rl_req *r, int status);
/* Studio error: class by status, one detail. */
enum MHD_Result rl_reply_error(rl_req *r, int status, const char *detail_code, const char *fmt,
                               ...) __attribute__((format(printf, 4, 5)));
/* An rl_error mapped by its code to a status (the one table). */
enum MHD_Result rl_reply_rl_error(rl_req *r, const rl_error *err, const char *detail_code);
int rl_status_of(int rl_code);
const char *rl_class_of(int status);
/* Replaces the bytes of s that are not well-formed UTF-8 with '?', in place
 * (for quoting what a client sent in JSON). */
void rl_utf8_scrub(char *s);

/* ---- auth.c ---- */
/* The bearer credential of the request (Authorization: Bearer X, or api-key),
 * or NULL. */
const char *rl_auth_credential(rl_req *r);
void rl_auth_hash(const char *credential, char out[65]);
/* An endpoint key from the secret and a nonce. out: at least 64 bytes. */
void rl_auth_derive_key(const rl_server *s, const char *nonce, char *out, size_t size);
/* A fresh nonce and the key and hash it gives. */
int rl_auth_new_key(const rl_server *s, char nonce[33], char key[64], char hash[65],
                    rl_error *err);
/* Checks the workspace token for ws: RL_OK, or replies 401/403/404 itself and
 * returns non-zero. */
int rl_auth_workspace(rl_req *r, const char *ws, enum MHD_Result *reply);
/* Checks the admin token (the default workspace's): RL_OK, or replies 401 (no
 * or an unknown credential) or 403 (another credential) and returns non-zero. */
int rl_auth_admin(rl_req *r, enum MHD_Result *reply);
/* Checks an endpoint key for sv: RL_OK or replies 401/403 and returns non-zero. */
int rl_auth_endpoint(rl_req *r, rl_served *sv, enum MHD_Result *reply);
/* Whether the request carries one of sv's keys (replies nothing). */
int rl_auth_is_endpoint_key(rl_req *r, const rl_served *sv);

/* ---- registry.c ---- */
int rl_registry_init(rl_registry *g);
void rl_registry_fini(rl_registry *g);
/* Loads every endpoint of every service (models and experiments). */
int rl_registry_load(rl_server *s, rl_error *err);
/* Builds and adds (or replaces) the served entry of one endpoint. */
int rl_registry_put(rl_server *s, const rl_service *svc, const rl_endpoint *ep, rl_error *err);
/* Looks up by api id; the result is referenced: rl_served_release it. */
rl_served *rl_registry_get(rl_server *s, const char *api_id);
/* The served entry of (service, endpoint), referenced, or NULL. */
rl_served *rl_registry_find(rl_server *s, const char *service_id, const char *endpoint);
void rl_served_release(rl_server *s, rl_served *sv);
/* Whether some endpoint other than except has a key with this hash. */
int rl_registry_key_elsewhere(rl_server *s, const char *hash, const rl_served *except);
/* The endpoint's model, referenced (caller unrefs), loading it on first use;
 * NULL for endpoints without one. */
int rl_served_model(rl_server *s, rl_served *sv, rl_model **out, rl_error *err);
/* The model stored at address, shared through the cache (referenced). */
int rl_registry_model(rl_server *s, const char *address, rl_model **out, rl_error *err);
/* Unloads the models of endpoints idle for idle_ms and cached models no
 * endpoint holds. */
void rl_registry_sweep(rl_server *s, int64_t now, int64_t idle_ms);
/* How many distinct models are loaded. */
size_t rl_registry_loaded(rl_server *s);
/* Atomically puts a new model in service (takes a reference to m). */
void rl_served_swap(rl_served *sv, rl_model *m, const char *blob, int64_t version);
/* The api id of an endpoint. */
void rl_api_id(const char *service_id, const char *endpoint, int is_default, char out[33]);

/* ---- manage.c ---- */
/* Fills ep as a new endpoint of service_id named "default" with fresh keys
 * (nonces and hashes are the caller's storage). */
int rl_endpoint_init_new(rl_server *s, const char *service_id, rl_endpoint *ep,
                         char nonces[2][33], char hashes[2][65], rl_error *err);

/* ---- endpoints.c ---- */
/* Writes on .../endpoints/{name}: PUT (create or change), DELETE, PATCH
 * (Update Resource), POST .../refresh, POST .../rollback, GET .../history.
 * ep is NULL for a PUT of a new endpoint. */
enum MHD_Result rl_route_endpoint(rl_req *r, const rl_service *svc, rl_endpoint *ep);
/* Verifies the model at a client's location and puts it in service on the
 * endpoint (verify, load, check the schema, record history, swap). Replies
 * itself. */
enum MHD_Result rl_endpoint_set_model(rl_req *r, const rl_service *svc, const rl_endpoint *ep,
                                      const char *internal, rl_history_action action);
/* The two halves of rl_endpoint_set_model, for callers that change more:
 * check fetches, verifies and loads the model at internal and checks it
 * against what the endpoint serves (*out referenced, sha256 its checksum);
 * commit records it with its history entry and swaps it in. */
int rl_model_change_check(rl_server *s, const rl_service *svc, const char *endpoint,
                          const char *internal, rl_model **out, char sha256[65], rl_error *err);
int rl_model_change_commit(rl_server *s, const rl_service *svc, const char *endpoint,
                           const char *internal, const char *sha256, rl_model *m,
                           rl_history_action action, rl_error *err);
/* The internal blob address of a client's {BaseLocation, RelativeLocation,
 * SasBlobToken} (or a "uri"), checked; replies itself on failure. */
int rl_location_resolve(rl_req *r, const char *ws, const json_t *loc, const char *uri,
                        char *out, size_t size, enum MHD_Result *reply);
/* Removes the served entry of an endpoint. */
void rl_registry_remove(rl_server *s, const char *service_id, const char *endpoint);

/* ---- definition.c ---- */
enum MHD_Result rl_route_definition(rl_req *r, const rl_service *svc);

/* ---- routes ---- */
enum MHD_Result rl_route_rrs(rl_req *r, rl_served *sv);
enum MHD_Result rl_route_help(rl_req *r, rl_served *sv, int swagger);
enum MHD_Result rl_route_manage(rl_req *r);
enum MHD_Result rl_route_storage(rl_req *r);
enum MHD_Result rl_route_jobs(rl_req *r, rl_served *sv);

/* ---- storage.c: streamed blob uploads ---- */
/* Authorizes a PUT /storage before its body arrives (replies itself and
 * returns non-zero on refusal). */
int rl_storage_upload_begin(rl_req *r, enum MHD_Result *reply);
/* Appends a chunk of a PUT /storage body to the request's temporary file. */
int rl_storage_upload_chunk(rl_req *r, const char *data, size_t len);
/* Removes an upload's temporary file that was not committed. */
void rl_storage_upload_abort(rl_req *r);

/* ---- helpers shared by routes ---- */
/* ISO 8601 UTC of unix milliseconds into out (at least 32 bytes). */
void rl_iso_time(int64_t ms, char *out, size_t size);
int64_t rl_now_ms(void);
/* The endpoint object of docs/api.md (keys included). */
json_t *rl_endpoint_json(rl_server *s, const rl_service *svc, const rl_endpoint *ep);
/* A blob reference with a fresh signed read token. */
json_t *rl_blob_location(rl_server *s, const char *address, int with_token);
/* Saves m into the blob store as models/WS/PREFIX/TIME-SHA.ilearner (the
 * external models/PREFIX/... of workspace WS); *address
 * (caller frees) and sha256 receive where and its checksum. */
int rl_store_model(rl_server *s, const rl_model *m, const char *ws, const char *prefix,
                   char **address, char sha256[65], rl_error *err);
/* The request's query argument, or NULL. */
const char *rl_query(rl_req *r, const char *key);
/* The body parsed as a JSON object; replies 400 itself on failure. */
json_t *rl_body_json(rl_req *r, enum MHD_Result *reply);

#endif
