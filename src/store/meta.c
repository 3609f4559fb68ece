/* meta.c - the backend-independent half of the metadata store: enum names,
 * entity frees, argument validation and dispatch to the backend's ops.
 *
 * Every rl_meta_* function checks its arguments here, once for all backends,
 * then calls m->ops. See store/meta.h for the contracts.
 */
#include "store/meta.h"
#include "base/mem.h"
#include "store/meta_backend.h"
#include "store/util.h"

#include <stdio.h>
#include <string.h>

/* ---- enumerations ---- */

static const char *const kind_names[] = {NULL, "training", "predictive"};
static const char *const throttle_names[] = {NULL, "Low", "High"};
static const char *const trace_names[] = {NULL, "None", "Error", "All"};
static const char *const action_names[] = {
    NULL, "publish", "update-resource", "definition-update", "rollback", "refresh"};
static const char *const status_names[] = {NULL,     "NotStarted", "Running",
                                           "Failed", "Cancelled",  "Finished"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 1 && (size_t)v < n ? names[v] : "?";
}

static int parse_of(const char *const *names, size_t n, const char *what, const char *s, int *out,
                    rl_error *err)
{
    char list[256];
    size_t used = 0;
    for (size_t i = 1; i < n; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return RL_OK;
        }
        int w = snprintf(list + used, sizeof list - used, "%s\"%s\"", i > 1 ? ", " : "", names[i]);
        if (w > 0 && (size_t)w < sizeof list - used) used += (size_t)w;
    }
    return rl_error_set(err, RL_EINVAL, "%s \"%.64s\" is not one of %s", what, s ? s : "(null)",
                        list);
}

const char *rl_service_kind_name(rl_service_kind k)
{
    return name_of(kind_names, COUNT(kind_names), (int)k);
}
const char *rl_throttle_name(rl_throttle t)
{
    return name_of(throttle_names, COUNT(throttle_names), (int)t);
}
const char *rl_trace_level_name(rl_trace_level t)
{
    return name_of(trace_names, COUNT(trace_names), (int)t);
}
const char *rl_history_action_name(rl_history_action a)
{
    return name_of(action_names, COUNT(action_names), (int)a);
}
const char *rl_job_status_name(rl_job_status s)
{
    return name_of(status_names, COUNT(status_names), (int)s);
}

int rl_service_kind_parse(const char *s, rl_service_kind *out, rl_error *err)
{
    int v;
    int rc = parse_of(kind_names, COUNT(kind_names), "service kind", s, &v, err);
    if (rc == RL_OK) *out = (rl_service_kind)v;
    return rc;
}
int rl_throttle_parse(const char *s, rl_throttle *out, rl_error *err)
{
    int v;
    int rc = parse_of(throttle_names, COUNT(throttle_names), "throttle level", s, &v, err);
    if (rc == RL_OK) *out = (rl_throttle)v;
    return rc;
}
int rl_trace_level_parse(const char *s, rl_trace_level *out, rl_error *err)
{
    int v;
    int rc = parse_of(trace_names, COUNT(trace_names), "diagnostics trace level", s, &v, err);
    if (rc == RL_OK) *out = (rl_trace_level)v;
    return rc;
}
int rl_history_action_parse(const char *s, rl_history_action *out, rl_error *err)
{
    int v;
    int rc = parse_of(action_names, COUNT(action_names), "history action", s, &v, err);
    if (rc == RL_OK) *out = (rl_history_action)v;
    return rc;
}
int rl_job_status_parse(const char *s, rl_job_status *out, rl_error *err)
{
    int v;
    int rc = parse_of(status_names, COUNT(status_names), "job status", s, &v, err);
    if (rc == RL_OK) *out = (rl_job_status)v;
    return rc;
}

/* ---- entity lifetimes ---- */

void rl_workspace_fini(rl_workspace *w)
{
    if (!w) return;
    rl_free(w->id);
    rl_free(w->token_hash);
    memset(w, 0, sizeof *w);
}

void rl_service_fini(rl_service *s)
{
    if (!s) return;
    rl_free(s->id);
    rl_free(s->workspace_id);
    rl_free(s->name);
    rl_free(s->description);
    rl_free(s->experiment_json);
    rl_free(s->model_resource_name);
    rl_free(s->partner_id);
    memset(s, 0, sizeof *s);
}

void rl_endpoint_fini(rl_endpoint *e)
{
    if (!e) return;
    rl_free(e->service_id);
    rl_free(e->name);
    rl_free(e->description);
    rl_free(e->primary_key_hash);
    rl_free(e->secondary_key_hash);
    rl_free(e->key_nonce_primary);
    rl_free(e->key_nonce_secondary);
    rl_free(e->model_blob);
    rl_free(e->model_sha256);
    memset(e, 0, sizeof *e);
}

void rl_history_entry_fini(rl_history_entry *h)
{
    if (!h) return;
    rl_free(h->service_id);
    rl_free(h->endpoint);
    rl_free(h->credential);
    rl_free(h->job_id);
    rl_free(h->model_blob);
    rl_free(h->model_sha256);
    rl_free(h->evaluation_json);
    memset(h, 0, sizeof *h);
}

void rl_job_fini(rl_job *j)
{
    if (!j) return;
    rl_free(j->id);
    rl_free(j->service_id);
    rl_free(j->endpoint);
    rl_free(j->request_json);
    rl_free(j->results_json);
    rl_free(j->details);
    memset(j, 0, sizeof *j);
}

#define DEFINE_FREE(type, fini)                                                                    \
    void type##_free(type *p)                                                                      \
    {                                                                                              \
        if (!p) return;                                                                            \
        fini(p);                                                                                   \
        rl_free(p);                                                                                \
    }
#define DEFINE_LIST_FREE(name, type, fini)                                                         \
    void name(type *v, size_t n)                                                                   \
    {                                                                                              \
        if (!v) return;                                                                            \
        for (size_t i = 0; i < n; i++)                                                             \
            fini(&v[i]);                                                                           \
        rl_free(v);                                                                                \
    }

DEFINE_FREE(rl_workspace, rl_workspace_fini)
DEFINE_FREE(rl_service, rl_service_fini)
DEFINE_FREE(rl_endpoint, rl_endpoint_fini)
DEFINE_FREE(rl_history_entry, rl_history_entry_fini)
DEFINE_FREE(rl_job, rl_job_fini)
DEFINE_LIST_FREE(rl_workspace_list_free, rl_workspace, rl_workspace_fini)
DEFINE_LIST_FREE(rl_service_list_free, rl_service, rl_service_fini)
DEFINE_LIST_FREE(rl_endpoint_list_free, rl_endpoint, rl_endpoint_fini)
DEFINE_LIST_FREE(rl_history_list_free, rl_history_entry, rl_history_entry_fini)
DEFINE_LIST_FREE(rl_job_list_free, rl_job, rl_job_fini)

/* ---- validation ---- */

/* Optional text: NULL allowed when nullable, else UTF-8 within max bytes. */
static int check_text(const char *what, const char *s, int nullable, size_t max, rl_error *err)
{
    if (!s) {
        if (nullable) return RL_OK;
        return rl_error_set(err, RL_EINVAL, "%s is missing", what);
    }
    size_t n = strlen(s);
    if (n > max)
        return rl_error_set(err, RL_EINVAL, "%s is %zu bytes long; the limit is %zu", what, n, max);
    size_t bad = rl_store_utf8_bad(s, n);
    if (bad < n)
        return rl_error_set(err, RL_EINVAL, "%s is not valid UTF-8 (byte %zu); send UTF-8 text",
                            what, bad);
    return RL_OK;
}

/* Ids and names: required, 1..RL_META_ID_MAX bytes of UTF-8 without control
 * characters (which have no business in a name and would corrupt logs). */
static int check_id(const char *what, const char *s, rl_error *err)
{
    int rc = check_text(what, s, 0, RL_META_ID_MAX, err);
    if (rc) return rc;
    if (!*s) return rl_error_set(err, RL_EINVAL, "%s is empty", what);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return rl_error_set(err, RL_EINVAL,
                                "%s contains a control character (byte %zu); names are printable "
                                "text",
                                what, (size_t)(p - (const unsigned char *)s));
    return RL_OK;
}

static int check_hash(const char *what, const char *s, int nullable, rl_error *err)
{
    if (!s && nullable) return RL_OK;
    if (!rl_store_is_sha256_hex(s))
        return rl_error_set(err, RL_EINVAL, "%s must be 64 lowercase hex digits (a SHA-256)", what);
    return RL_OK;
}

static int check_time(const char *what, int64_t t, rl_error *err)
{
    if (t < 0)
        return rl_error_set(err, RL_EINVAL, "%s is negative (%lld); times are Unix milliseconds",
                            what, (long long)t);
    return RL_OK;
}

static int check_model(const char *blob, const char *sha, rl_error *err)
{
    if (!blob != !sha)
        return rl_error_set(err, RL_EINVAL,
                            "model blob and model SHA-256 must be given together (got %s without "
                            "%s)",
                            blob ? "a blob" : "a SHA-256", blob ? "a SHA-256" : "a blob");
    if (!blob) return RL_OK;
    int rc = check_text("model blob address", blob, 0, 1024, err);
    if (rc) return rc;
    if (!*blob) return rl_error_set(err, RL_EINVAL, "model blob address is empty");
    return check_hash("model SHA-256", sha, 0, err);
}

static int check_meta(const rl_meta *m, rl_error *err)
{
    if (!m) return rl_error_set(err, RL_EINVAL, "no metadata store given (NULL)");
    return RL_OK;
}

static int check_workspace(const rl_workspace *w, rl_error *err)
{
    int rc;
    if (!w) return rl_error_set(err, RL_EINVAL, "no workspace given (NULL)");
    if ((rc = check_id("workspace id", w->id, err))) return rc;
    if ((rc = check_hash("workspace token hash", w->token_hash, 0, err))) return rc;
    return check_time("workspace creation time", w->created, err);
}

/* Fields of a service that create and update both take. */
static int check_service_fields(const rl_service *s, rl_error *err)
{
    int rc;
    if (!s) return rl_error_set(err, RL_EINVAL, "no service given (NULL)");
    if ((rc = check_id("service id", s->id, err))) return rc;
    if ((rc = check_text("service name", s->name, 0, RL_META_ID_MAX, err))) return rc;
    if ((rc = check_text("service description", s->description, 1, RL_META_TEXT_MAX, err)))
        return rc;
    if ((rc = check_text("service experiment JSON", s->experiment_json, 0, RL_META_JSON_MAX, err)))
        return rc;
    if ((rc = check_text("service model resource name", s->model_resource_name, 1, RL_META_TEXT_MAX,
                         err)))
        return rc;
    if (s->partner_id && (rc = check_id("service partner id", s->partner_id, err))) return rc;
    if (s->partner_id && strcmp(s->partner_id, s->id) == 0)
        return rl_error_set(err, RL_EINVAL, "service %s cannot be its own partner", s->id);
    return RL_OK;
}

static int check_service(const rl_service *s, rl_error *err)
{
    int rc = check_service_fields(s, err);
    if (rc) return rc;
    if ((rc = check_id("service workspace id", s->workspace_id, err))) return rc;
    if (s->kind != RL_SERVICE_TRAINING && s->kind != RL_SERVICE_PREDICTIVE)
        return rl_error_set(err, RL_EINVAL, "service kind %d is neither training nor predictive",
                            (int)s->kind);
    return check_time("service creation time", s->created, err);
}

/* Endpoint fields; with_service checks service_id too (not when it comes from
 * the service being created). */
static int check_endpoint(const rl_endpoint *e, int with_service, rl_error *err)
{
    int rc;
    if (!e) return rl_error_set(err, RL_EINVAL, "no endpoint given (NULL)");
    if (with_service && (rc = check_id("endpoint service id", e->service_id, err))) return rc;
    if ((rc = check_id("endpoint name", e->name, err))) return rc;
    if ((rc = check_text("endpoint description", e->description, 1, RL_META_TEXT_MAX, err)))
        return rc;
    if ((rc = check_hash("endpoint primary key hash", e->primary_key_hash, 0, err))) return rc;
    if ((rc = check_hash("endpoint secondary key hash", e->secondary_key_hash, 0, err))) return rc;
    if ((rc = check_text("endpoint primary key nonce", e->key_nonce_primary, 0, RL_META_TEXT_MAX,
                         err)))
        return rc;
    if ((rc = check_text("endpoint secondary key nonce", e->key_nonce_secondary, 0,
                         RL_META_TEXT_MAX, err)))
        return rc;
    if (e->throttle_level != RL_THROTTLE_LOW && e->throttle_level != RL_THROTTLE_HIGH)
        return rl_error_set(err, RL_EINVAL, "endpoint throttle level %d is neither Low nor High",
                            (int)e->throttle_level);
    if (e->max_concurrent_calls < 1 || e->max_concurrent_calls > 1000)
        return rl_error_set(err, RL_EINVAL, "endpoint max concurrent calls %d is outside 1..1000",
                            e->max_concurrent_calls);
    if (e->diagnostics_trace_level < RL_TRACE_NONE || e->diagnostics_trace_level > RL_TRACE_ALL)
        return rl_error_set(err, RL_EINVAL,
                            "endpoint diagnostics trace level %d is not None, Error or All",
                            (int)e->diagnostics_trace_level);
    if ((rc = check_model(e->model_blob, e->model_sha256, err))) return rc;
    if (e->is_default != 0 && e->is_default != 1)
        return rl_error_set(err, RL_EINVAL, "endpoint is_default must be 0 or 1, not %d",
                            e->is_default);
    return check_time("endpoint creation time", e->created, err);
}

/* The fields of a history entry that callers supply. */
static int check_entry(const rl_history_entry *h, rl_error *err)
{
    int rc;
    if (!h) return rl_error_set(err, RL_EINVAL, "no history entry given (NULL)");
    if ((rc = check_time("history time", h->time, err))) return rc;
    if ((rc = check_text("history credential", h->credential, 0, RL_META_TEXT_MAX, err))) return rc;
    if (h->job_id && (rc = check_id("history job id", h->job_id, err))) return rc;
    if ((rc = check_text("history evaluation JSON", h->evaluation_json, 1, RL_META_JSON_MAX, err)))
        return rc;
    if (h->action < RL_ACTION_PUBLISH || h->action > RL_ACTION_REFRESH)
        return rl_error_set(err, RL_EINVAL, "history action %d is not a known action",
                            (int)h->action);
    return RL_OK;
}

static int check_out(const void *out, const void *n, rl_error *err)
{
    if (!out || !n) return rl_error_set(err, RL_EINVAL, "no output pointer given (NULL)");
    return RL_OK;
}

/* ---- dispatch ---- */

void rl_meta_close(rl_meta *m)
{
    if (m) m->ops->close(m);
}

const char *rl_meta_backend(const rl_meta *m)
{
    return m ? m->ops->name : "none";
}

int rl_meta_check(rl_meta *m, rl_error *err)
{
    int rc = check_meta(m, err);
    return rc ? rc : m->ops->check(m, err);
}

int rl_meta_workspace_create(rl_meta *m, const rl_workspace *w, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_workspace(w, err))) return rc;
    return m->ops->workspace_create(m, w, err);
}

int rl_meta_workspace_get(rl_meta *m, const char *id, rl_workspace **out, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("workspace id", id, err)) ||
        (rc = check_out(out, out, err)))
        return rc;
    return m->ops->workspace_get(m, id, out, err);
}

int rl_meta_workspace_list(rl_meta *m, rl_workspace **out, size_t *n, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_out(out, n, err))) return rc;
    return m->ops->workspace_list(m, out, n, err);
}

int rl_meta_workspace_delete(rl_meta *m, const char *id, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("workspace id", id, err))) return rc;
    return m->ops->workspace_delete(m, id, err);
}

int rl_meta_service_create(rl_meta *m, const rl_service *s, const rl_endpoint *default_ep,
                           const rl_history_entry *publish, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_service(s, err))) return rc;
    if (default_ep && (rc = check_endpoint(default_ep, 0, err))) return rc;
    if (publish && !default_ep)
        return rl_error_set(err, RL_EINVAL, "a publish history entry needs a default endpoint");
    if (publish && (rc = check_entry(publish, err))) return rc;
    return m->ops->service_create(m, s, default_ep, publish, err);
}

int rl_meta_service_get(rl_meta *m, const char *id, rl_service **out, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", id, err)) ||
        (rc = check_out(out, out, err)))
        return rc;
    return m->ops->service_get(m, id, out, err);
}

int rl_meta_service_list(rl_meta *m, const char *workspace_id, rl_service **out, size_t *n,
                         rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("workspace id", workspace_id, err)) ||
        (rc = check_out(out, n, err)))
        return rc;
    return m->ops->service_list(m, workspace_id, out, n, err);
}

int rl_meta_service_update(rl_meta *m, const rl_service *s, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_service_fields(s, err))) return rc;
    return m->ops->service_update(m, s, err);
}

int rl_meta_service_link(rl_meta *m, const char *a, const char *b, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err))) return rc;
    if (!a && !b) return rl_error_set(err, RL_EINVAL, "no service given to link (both NULL)");
    if (a && (rc = check_id("service id", a, err))) return rc;
    if (b && (rc = check_id("partner service id", b, err))) return rc;
    if (a && b && strcmp(a, b) == 0)
        return rl_error_set(err, RL_EINVAL, "service %s cannot be its own partner", a);
    return m->ops->service_link(m, a, b, err);
}

int rl_meta_service_delete(rl_meta *m, const char *id, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", id, err))) return rc;
    return m->ops->service_delete(m, id, err);
}

int rl_meta_endpoint_create(rl_meta *m, const rl_endpoint *e, const rl_history_entry *initial,
                            rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_endpoint(e, 1, err))) return rc;
    if (initial && (rc = check_entry(initial, err))) return rc;
    return m->ops->endpoint_create(m, e, initial, err);
}

int rl_meta_endpoint_get(rl_meta *m, const char *service_id, const char *name, rl_endpoint **out,
                         rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_id("endpoint name", name, err)) || (rc = check_out(out, out, err)))
        return rc;
    return m->ops->endpoint_get(m, service_id, name, out, err);
}

int rl_meta_endpoint_list(rl_meta *m, const char *service_id, rl_endpoint **out, size_t *n,
                          rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_out(out, n, err)))
        return rc;
    return m->ops->endpoint_list(m, service_id, out, n, err);
}

int rl_meta_endpoint_update(rl_meta *m, const rl_endpoint *e, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_endpoint(e, 1, err))) return rc;
    return m->ops->endpoint_update(m, e, err);
}

int rl_meta_endpoint_set_model(rl_meta *m, const char *service_id, const char *name,
                               const char *model_blob, const char *model_sha256,
                               const rl_history_entry *entry, int64_t expected_version,
                               int64_t *new_version, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_id("endpoint name", name, err)) ||
        (rc = check_model(model_blob, model_sha256, err)) || (rc = check_entry(entry, err)))
        return rc;
    return m->ops->endpoint_set_model(m, service_id, name, model_blob, model_sha256, entry,
                                      expected_version, new_version, err);
}

int rl_meta_endpoint_delete(rl_meta *m, const char *service_id, const char *name, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_id("endpoint name", name, err)))
        return rc;
    return m->ops->endpoint_delete(m, service_id, name, err);
}

int rl_meta_history_list(rl_meta *m, const char *service_id, const char *endpoint,
                         rl_history_entry **out, size_t *n, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_id("endpoint name", endpoint, err)) || (rc = check_out(out, n, err)))
        return rc;
    return m->ops->history_list(m, service_id, endpoint, out, n, err);
}

int rl_meta_history_get(rl_meta *m, const char *service_id, const char *endpoint, int64_t seq,
                        rl_history_entry **out, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_id("endpoint name", endpoint, err)) || (rc = check_out(out, out, err)))
        return rc;
    if (seq < 1)
        return rl_error_set(err, RL_EINVAL, "history sequence numbers start at 1, not %lld",
                            (long long)seq);
    return m->ops->history_get(m, service_id, endpoint, seq, out, err);
}

int rl_meta_history_find_job(rl_meta *m, const char *service_id, const char *endpoint,
                             const char *model_blob, char *job_id, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_id("endpoint name", endpoint, err)) ||
        (rc = check_text("model blob address", model_blob, 0, 1024, err)) ||
        (rc = check_out(job_id, job_id, err)))
        return rc;
    return m->ops->history_find_job(m, service_id, endpoint, model_blob, job_id, err);
}

int rl_meta_blob_referenced(rl_meta *m, const char *address, int *referenced, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_text("blob address", address, 0, 1024, err)) ||
        (rc = check_out(referenced, referenced, err)))
        return rc;
    return m->ops->blob_referenced(m, address, referenced, err);
}

int rl_meta_job_create(rl_meta *m, const rl_job *j, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err))) return rc;
    if (!j) return rl_error_set(err, RL_EINVAL, "no job given (NULL)");
    if ((rc = check_id("job id", j->id, err)) ||
        (rc = check_id("job service id", j->service_id, err)) ||
        (rc = check_id("job endpoint name", j->endpoint, err)) ||
        (rc = check_text("job request JSON", j->request_json, 0, RL_META_JSON_MAX, err)) ||
        (rc = check_time("job creation time", j->created, err)))
        return rc;
    if (j->start_requested != 0 && j->start_requested != 1)
        return rl_error_set(err, RL_EINVAL, "job start_requested must be 0 or 1, not %d",
                            j->start_requested);
    return m->ops->job_create(m, j, err);
}

int rl_meta_job_get(rl_meta *m, const char *id, rl_job **out, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err)) ||
        (rc = check_out(out, out, err)))
        return rc;
    return m->ops->job_get(m, id, out, err);
}

int rl_meta_job_list(rl_meta *m, const char *service_id, rl_job **out, size_t *n, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_out(out, n, err)))
        return rc;
    return m->ops->job_list(m, service_id, out, n, err);
}

int rl_meta_job_find_by_result(rl_meta *m, const char *service_id, const char *text, char *id,
                               rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("service id", service_id, err)) ||
        (rc = check_text("text to find in job results", text, 0, 1024, err)) ||
        (rc = check_out(id, id, err)))
        return rc;
    if (!*text) return rl_error_set(err, RL_EINVAL, "text to find in job results is empty");
    return m->ops->job_find_by_result(m, service_id, text, id, err);
}

int rl_meta_job_list_runnable(rl_meta *m, rl_job **out, size_t *n, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_out(out, n, err))) return rc;
    return m->ops->job_list_runnable(m, out, n, err);
}

int rl_meta_job_start_request(rl_meta *m, const char *id, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err))) return rc;
    return m->ops->job_start_request(m, id, err);
}

int rl_meta_job_claim(rl_meta *m, const char *id, int64_t now, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err)) ||
        (rc = check_time("claim time", now, err)))
        return rc;
    return m->ops->job_claim(m, id, now, err);
}

int rl_meta_job_cancel(rl_meta *m, const char *id, const char *reason, int64_t now, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err)) ||
        (rc = check_text("cancellation reason", reason, 1, RL_META_TEXT_MAX, err)) ||
        (rc = check_time("cancellation time", now, err)))
        return rc;
    return m->ops->job_cancel(m, id, reason, now, err);
}

int rl_meta_job_finish(rl_meta *m, const char *id, rl_job_status status, const char *results_json,
                       const char *details, int64_t now, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err)) ||
        (rc = check_text("job results JSON", results_json, 1, RL_META_JSON_MAX, err)) ||
        (rc = check_text("job details", details, 1, RL_META_TEXT_MAX, err)) ||
        (rc = check_time("finish time", now, err)))
        return rc;
    if (status != RL_JOB_FINISHED && status != RL_JOB_FAILED)
        return rl_error_set(err, RL_EINVAL,
                            "a job finishes as Finished or Failed, not %s (use "
                            "rl_meta_job_cancel to cancel)",
                            rl_job_status_name(status));
    return m->ops->job_finish(m, id, status, results_json, details, now, err);
}

int rl_meta_job_requeue(rl_meta *m, const char *id, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err))) return rc;
    return m->ops->job_requeue(m, id, err);
}

int rl_meta_job_delete(rl_meta *m, const char *id, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err))) return rc;
    return m->ops->job_delete(m, id, err);
}

int rl_meta_job_set_progress(rl_meta *m, const char *id, double progress, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err))) return rc;
    if (!(progress >= 0.0 && progress <= 1.0))
        return rl_error_set(err, RL_EINVAL, "job progress %g is outside 0..1", progress);
    return m->ops->job_set_progress(m, id, progress, err);
}

int rl_meta_job_set_results(rl_meta *m, const char *id, const char *results_json, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_id("job id", id, err)) ||
        (rc = check_text("job results JSON", results_json, 1, RL_META_JSON_MAX, err)))
        return rc;
    return m->ops->job_set_results(m, id, results_json, err);
}

int rl_meta_jobs_recover(rl_meta *m, int max_attempts, int64_t now, size_t *requeued,
                         size_t *failed, rl_error *err)
{
    int rc;
    if ((rc = check_meta(m, err)) || (rc = check_time("recovery time", now, err))) return rc;
    if (max_attempts < 1)
        return rl_error_set(err, RL_EINVAL, "max attempts must be at least 1, not %d",
                            max_attempts);
    return m->ops->jobs_recover(m, max_attempts, now, requeued, failed, err);
}
