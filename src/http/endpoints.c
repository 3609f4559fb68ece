/* endpoints.c - added endpoints, Update Resource, history and rollback.
 *
 * A predictive service has its default endpoint and any number of added ones,
 * each with its own keys, throttle and trained-model binding. Every change of
 * an endpoint's model goes through rl_endpoint_set_model: the new model is
 * fetched, verified (checksum, format) and fully loaded, its input schema is
 * checked against what the endpoint serves, the change and its history entry
 * are committed in one transaction, and only then is the served model swapped
 * (registry.c). Any refusal leaves the old model serving.
 */
#include "http/internal.h"
#include "base/mem.h"
#include "store/blob.h"
#include "store/sas.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_ENDPOINT_NAME 24
#define MAX_CONCURRENT 200

void rl_registry_remove(rl_server *s, const char *service_id, const char *endpoint)
{
    rl_served *gone = NULL;
    pthread_rwlock_wrlock(&s->reg.lock);
    for (size_t i = 0; i < s->reg.n; i++) {
        rl_served *sv = s->reg.items[i];
        if (!strcmp(sv->service_id, service_id) && !strcmp(sv->endpoint, endpoint)) {
            s->reg.items[i] = s->reg.items[--s->reg.n];
            gone = sv;
            break;
        }
    }
    pthread_rwlock_unlock(&s->reg.lock);
    if (gone) rl_served_release(s, gone); /* the registry's own reference */
}

static int valid_endpoint_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > MAX_ENDPOINT_NAME || s[0] == '-' || s[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* ---- locations ---- */

int rl_location_resolve(rl_req *r, const char *ws, const json_t *loc, const char *uri, char *out,
                        size_t size, enum MHD_Result *reply)
{
    rl_server *s = r->srv;
    char base[600], rel[RL_BLOB_ADDRESS_MAX + 1], token[RL_SAS_INPUT_MAX];
    rl_error err;
    token[0] = '\0';
    snprintf(base, sizeof base, "%s/storage/", s->public_url);
    if (uri) { /* http://host/storage/container/path[?token] */
        if (strncmp(uri, base, strlen(base)) != 0) {
            /* Quoted without its query: that may hold a signed token. */
            *reply = rl_reply_error(r, 400, "UnreachableLocation",
                                    "'%.*s' is not in this relearnd's blob store (%s...); upload "
                                    "the model there first", (int)strcspn(uri, "?"), uri, base);
            return -1;
        }
        const char *p = uri + strlen(base), *q = strchr(p, '?');
        snprintf(rel, sizeof rel, "%.*s", (int)(q ? (size_t)(q - p) : strlen(p)), p);
        if (q) snprintf(token, sizeof token, "%s", q);
    } else {
        const char *b = json_string_value(json_object_get(loc, "BaseLocation"));
        const char *rl = json_string_value(json_object_get(loc, "RelativeLocation"));
        const char *t = json_string_value(json_object_get(loc, "SasBlobToken"));
        if (!rl || !*rl) {
            *reply = rl_reply_error(r, 400, "MissingLocation", "a Location needs "
                                    "\"RelativeLocation\" (container/path of the .ilearner)");
            return -1;
        }
        if (b && *b && strcmp(b, base) != 0 && strncmp(b, base, strlen(base) - 1) != 0) {
            *reply = rl_reply_error(r, 400, "UnreachableLocation",
                                    "BaseLocation '%s' is not this relearnd's blob store (%s)", b,
                                    base);
            return -1;
        }
        snprintf(rel, sizeof rel, "%s", rl);
        if (t) snprintf(token, sizeof token, "%s", t);
    }
    if (rl_blob_ws_address(ws, rel, out, size, &err)) {
        *reply = rl_reply_rl_error(r, &err, "InvalidBlobPath");
        return -1;
    }
    if (token[0]) { /* a signed token given with a location must still be valid */
        const char *qws = strstr(token, "ws=");
        if (qws && strncmp(qws + 3, ws, strlen(ws)) != 0) {
            *reply = rl_reply_error(r, 403, "CredentialOfAnotherResource",
                                    "the location's token belongs to another workspace");
            return -1;
        }
        int rc = rl_sas_verify(s->sas_secret, sizeof s->sas_secret, out, token, "r",
                               rl_now_ms() / 1000, &err);
        if (rc) {
            *reply = rl_reply_error(r, 400, rc == RL_EAUTH && strstr(err.msg, "expired")
                                                ? "ExpiredLocation"
                                                : "InvalidLocationToken",
                                    "the location's SasBlobToken is not valid: %s", err.msg);
            return -1;
        }
    }
    return 0;
}

/* ---- the verified swap ---- */

/* Whether requests the endpoint answers now can be scored by m. */
static int schema_compatible(const rl_model *cur, const rl_model *m, rl_error *err)
{
    if (!cur) return RL_OK;
    if (rl_model_task(cur) != rl_model_task(m) || strcmp(rl_model_label(cur), rl_model_label(m)))
        return rl_error_set(err, RL_ESCHEMA, "the new model predicts '%s' (%s), the endpoint "
                            "serves '%s' (%s): train it for the same label and task",
                            rl_model_label(m), rl_model_kind(m)->name, rl_model_label(cur),
                            rl_model_kind(cur)->name);
    for (size_t i = 0; i < rl_model_ninputs(m); i++) {
        const char *name = rl_model_input_name(m, i);
        size_t j = 0;
        while (j < rl_model_ninputs(cur) && strcmp(rl_model_input_name(cur, j), name)) j++;
        if (j == rl_model_ninputs(cur))
            return rl_error_set(err, RL_ESCHEMA, "the new model needs column '%s', which the "
                                "endpoint's input does not have", name);
        if (rl_model_input_type(cur, j) != rl_model_input_type(m, i))
            return rl_error_set(err, RL_ESCHEMA, "column '%s' is %s for the new model but %s "
                                "for the endpoint", name, rl_type_name(rl_model_input_type(m, i)),
                                rl_type_name(rl_model_input_type(cur, j)));
    }
    return RL_OK;
}

/* The training job that produced the model at address, if known (into job,
 * 33 bytes): the partner training service's job whose results name it, or
 * the job an earlier history entry of the endpoint recorded for the same
 * model file (a rollback, a refresh). Each is one row looked up by the store:
 * listing every job and history entry (each with its evaluation) at every
 * model change made its time and the daemon's memory grow with the jobs run. */
static void find_job(rl_server *s, const rl_service *svc, const char *endpoint,
                     const char *address, char *job)
{
    char id[RL_META_ID_MAX + 1];
    job[0] = '\0';
    if (svc->partner_id &&
        rl_meta_job_find_by_result(s->meta, svc->partner_id, address, id, NULL) == RL_OK && id[0])
        snprintf(job, 33, "%.32s", id); /* job ids are 32 hex digits */
    else if (rl_meta_history_find_job(s->meta, svc->id, endpoint, address, id, NULL) == RL_OK)
        snprintf(job, 33, "%.32s", id); /* job ids are 32 hex digits */
}

int rl_model_change_check(rl_server *s, const rl_service *svc, const char *endpoint,
                          const char *internal, rl_model **out, char sha256[65], rl_error *err)
{
    rl_blob_info info;
    rl_model *m = NULL, *cur = NULL;
    char ext[RL_BLOB_ADDRESS_MAX + 1];
    if (rl_blob_ws_external(internal, ext, sizeof ext, NULL, 0, NULL))
        snprintf(ext, sizeof ext, "%s", internal);
    int rc = rl_blob_stat(s->blobs, internal, &info, err);
    if (rc == RL_ENOTFOUND) /* a location the client gave; the store's message names
                               the internal address */
        return rl_error_set(err, RL_EINVAL, "there is no blob '%s' in the workspace's store; "
                            "give the location a training job returned", ext);
    if (rc) return rl_error_wrap(err, "cannot read the model at '%s'", ext);
    /* Fetch, verify (checksum, format) and load before anything changes. */
    if ((rc = rl_registry_model(s, internal, &m, err))) {
        if (err->code != RL_ENOMEM) err->code = RL_EFORMAT;
        return rl_error_wrap(err, "the model at '%s' cannot be used", ext);
    }
    rl_served *sv = rl_registry_find(s, svc->id, endpoint);
    if (sv && rl_served_model(s, sv, &cur, err) == RL_OK)
        rc = schema_compatible(cur, m, err);
    else
        rl_error_clear(err); /* nothing serving to compare with */
    rl_served_release(s, sv);
    rl_model_unref(cur);
    if (rc) {
        rl_model_unref(m);
        return rc;
    }
    snprintf(sha256, 65, "%s", info.sha256);
    *out = m;
    return RL_OK;
}

/* Copies the model at internal to its own immutable place in the service's
 * models (models/WS/SERVICE/SHA.ilearner; kept when it is there already), so
 * that the endpoint and its history never depend on a blob the client may
 * overwrite, such as a retraining job's fixed output path. */
static int pin_model(rl_server *s, const rl_service *svc, const char *internal,
                     const char *sha256, char *out, size_t size, rl_error *err)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "models/%s/", svc->workspace_id);
    if (strncmp(internal, prefix, strlen(prefix)) == 0) {
        snprintf(out, size, "%s", internal); /* already one of relearn's model files */
        return RL_OK;
    }
    snprintf(out, size, "models/%s/%s/%s.ilearner", svc->workspace_id, svc->id, sha256);
    rl_blob_info info;
    if (rl_blob_stat(s->blobs, out, &info, NULL) == RL_OK && !strcmp(info.sha256, sha256))
        return RL_OK;
    char *data = NULL;
    size_t len = 0;
    int rc = rl_blob_get(s->blobs, internal, (size_t)4 << 30, &data, &len, &info, err);
    if (!rc && strcmp(info.sha256, sha256) != 0)
        rc = rl_error_set(err, RL_ESTATE, "the model file changed while it was being put in "
                          "service; try again");
    if (!rc) rc = rl_blob_put(s->blobs, out, data, len, NULL, err);
    rl_free(data);
    return rc;
}

int rl_model_change_commit(rl_server *s, const rl_service *svc, const char *endpoint,
                           const char *internal, const char *sha256, rl_model *m,
                           rl_history_action action, rl_error *err)
{
    char job[33], pinned[RL_BLOB_ADDRESS_MAX + 1];
    find_job(s, svc, endpoint, internal, job);
    int rc = pin_model(s, svc, internal, sha256, pinned, sizeof pinned, err);
    if (rc) return rc;
    internal = pinned;
    if (!job[0]) find_job(s, svc, endpoint, internal, job);
    json_t *describe = rl_model_describe(m);
    json_t *metrics = json_object_get(json_object_get(describe, "training"), "metrics");
    char *eval = metrics && !json_is_null(metrics)
                     ? json_dumps(metrics, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(describe);
    rl_history_entry h = {0};
    h.time = rl_now_ms();
    h.credential = (char *)"workspace token";
    h.job_id = job[0] ? job : NULL;
    h.evaluation_json = eval;
    h.action = action;
    int64_t version = 0;
    rl_served *sv = rl_registry_find(s, svc->id, endpoint);
    pthread_mutex_lock(&s->model_change);
    rc = rl_meta_endpoint_set_model(s->meta, svc->id, endpoint, internal, sha256, &h, -1,
                                        &version, err);
    if (!rc && sv) rl_served_swap(sv, m, internal, version); /* atomic for requests */
    pthread_mutex_unlock(&s->model_change);
    rl_served_release(s, sv);
    free(eval);
    return rc;
}

enum MHD_Result rl_endpoint_set_model(rl_req *r, const rl_service *svc, const rl_endpoint *ep,
                                      const char *internal, rl_history_action action)
{
    rl_server *s = r->srv;
    rl_error err;
    rl_error_clear(&err);
    rl_model *m = NULL;
    char sha[65];
    int rc = rl_model_change_check(s, svc, ep->name, internal, &m, sha, &err);
    if (rc)
        return rl_reply_rl_error(r, &err, rc == RL_ESCHEMA ? "IncompatibleSchema"
                                          : rc == RL_EFORMAT ? "InvalidModelFile"
                                          : rc == RL_EINVAL  ? "BlobNotFound"
                                                             : NULL);
    rc = rl_model_change_commit(s, svc, ep->name, internal, sha, m, action, &err);
    rl_model_unref(m);
    if (rc) return rl_reply_rl_error(r, &err, NULL);
    rl_endpoint *now = NULL;
    enum MHD_Result reply;
    if (rl_meta_endpoint_get(s->meta, svc->id, ep->name, &now, &err))
        reply = rl_reply_rl_error(r, &err, NULL);
    else
        reply = rl_reply_json(r, 200, rl_endpoint_json(s, svc, now));
    rl_endpoint_free(now);
    return reply;
}

/* ---- routes ---- */

static int parse_settings(rl_req *r, json_t *body, rl_endpoint *ep, int creating,
                          enum MHD_Result *reply)
{
    rl_error err;
    json_t *d = json_object_get(body, "Description");
    json_t *t = json_object_get(body, "ThrottleLevel");
    json_t *m = json_object_get(body, "MaxConcurrentCalls");
    json_t *l = json_object_get(body, "DiagnosticsTraceLevel");
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "Description") && strcmp(key, "ThrottleLevel") &&
            strcmp(key, "MaxConcurrentCalls") && strcmp(key, "DiagnosticsTraceLevel")) {
            *reply = rl_reply_error(r, 400, "UnknownProperty", "unknown property \"%s\" (an "
                                    "endpoint takes Description, ThrottleLevel, "
                                    "MaxConcurrentCalls, DiagnosticsTraceLevel)", key);
            return -1;
        }
    }
    if (d && (!json_is_string(d) || json_string_length(d) > 1024)) {
        *reply = rl_reply_error(r, 400, "BadDescription", "\"Description\" must be a string of "
                                "at most 1024 characters");
        return -1;
    }
    if (d && !creating) { /* an endpoint from the store owns its strings */
        char *copy = rl_strdup(json_string_value(d));
        if (!copy) {
            rl_error_set(&err, RL_ENOMEM, "out of memory");
            *reply = rl_reply_rl_error(r, &err, NULL);
            return -1;
        }
        rl_free(ep->description);
        ep->description = copy;
    } else if (d) { /* a new endpoint borrows from the body */
        ep->description = (char *)json_string_value(d);
    }
    if (t && (!json_is_string(t) || rl_throttle_parse(json_string_value(t), &ep->throttle_level,
                                                      &err))) {
        *reply = rl_reply_error(r, 400, "BadThrottleLevel", "\"ThrottleLevel\" must be \"Low\" "
                                "or \"High\"");
        return -1;
    }
    if (l && (!json_is_string(l) || rl_trace_level_parse(json_string_value(l),
                                                         &ep->diagnostics_trace_level, &err))) {
        *reply = rl_reply_error(r, 400, "BadDiagnosticsTraceLevel", "\"DiagnosticsTraceLevel\" "
                                "must be \"None\", \"Error\" or \"All\"");
        return -1;
    }
    if (m) {
        if (!json_is_integer(m) || json_integer_value(m) < 1 ||
            json_integer_value(m) > MAX_CONCURRENT) {
            *reply = rl_reply_error(r, 400, "BadMaxConcurrentCalls", "\"MaxConcurrentCalls\" "
                                    "must be an integer from 1 to %d", MAX_CONCURRENT);
            return -1;
        }
        ep->max_concurrent_calls = (int)json_integer_value(m);
    } else if (creating) {
        ep->max_concurrent_calls = ep->throttle_level == RL_THROTTLE_LOW ? 4 : 20;
    }
    return 0;
}

static enum MHD_Result put_endpoint(rl_req *r, const rl_service *svc, rl_endpoint *ep,
                                    const char *name)
{
    rl_server *s = r->srv;
    enum MHD_Result reply;
    rl_error err;
    if (svc->kind != RL_SERVICE_PREDICTIVE)
        return rl_reply_error(r, 400, "NotAPredictiveService", "endpoints can be added to "
                              "predictive web services only");
    if (!valid_endpoint_name(name))
        return rl_reply_error(r, 400, "BadEndpointName", "endpoint names are 1 to %d lowercase "
                              "letters, digits and inner hyphens, got '%s'", MAX_ENDPOINT_NAME,
                              name);
    json_t *body = r->body.len ? rl_body_json(r, &reply) : json_object();
    if (!body) return reply;
    if (ep) { /* an existing endpoint: change its settings */
        /* On the row as it is now, read under the lock: ep was read before
         * it, and writing that back would undo a key regenerated meanwhile. */
        rl_endpoint *cur = NULL;
        pthread_mutex_lock(&s->model_change);
        int rc = rl_meta_endpoint_get(s->meta, svc->id, ep->name, &cur, &err);
        if (!rc && parse_settings(r, body, cur, 0, &reply)) {
            pthread_mutex_unlock(&s->model_change);
            rl_endpoint_free(cur);
            goto out_body;
        }
        if (!rc) rc = rl_meta_endpoint_update(s->meta, cur, &err);
        if (!rc) {
            rl_served *sv = rl_registry_find(s, svc->id, cur->name);
            if (sv) {
                pthread_rwlock_wrlock(&s->reg.lock);
                sv->max_concurrent = cur->max_concurrent_calls;
                pthread_rwlock_unlock(&s->reg.lock);
                rl_served_release(s, sv);
            }
        }
        pthread_mutex_unlock(&s->model_change);
        reply = rc ? rl_reply_rl_error(r, &err, NULL)
                   : rl_reply_json(r, 200, rl_endpoint_json(s, svc, cur));
        rl_endpoint_free(cur);
        goto out_body;
    }
    rl_endpoint *def = NULL;
    if (rl_meta_endpoint_get(s->meta, svc->id, "default", &def, &err)) {
        reply = rl_reply_rl_error(r, &err, NULL);
        goto out_body;
    }
    rl_endpoint ne;
    char nonces[2][33], hashes[2][65];
    if (rl_endpoint_init_new(s, svc->id, &ne, nonces, hashes, &err)) {
        rl_endpoint_free(def);
        reply = rl_reply_rl_error(r, &err, NULL);
        goto out_body;
    }
    ne.name = (char *)name;
    ne.is_default = 0;
    ne.model_blob = def->model_blob; /* it starts with the service's current model */
    ne.model_sha256 = def->model_sha256;
    if (parse_settings(r, body, &ne, 1, &reply)) {
        rl_endpoint_free(def);
        goto out_body;
    }
    rl_history_entry h = {0};
    h.time = rl_now_ms();
    h.credential = (char *)"workspace token";
    h.action = RL_ACTION_PUBLISH;
    /* The model it starts with keeps the evaluation and job it came with. */
    rl_history_entry *dh = NULL;
    size_t ndh = 0;
    if (rl_meta_history_list(s->meta, svc->id, "default", &dh, &ndh, NULL) == RL_OK && ndh) {
        h.evaluation_json = dh[ndh - 1].evaluation_json;
        h.job_id = dh[ndh - 1].job_id;
    }
    pthread_mutex_lock(&s->model_change);
    int rc = rl_meta_endpoint_create(s->meta, &ne, &h, &err);
    if (!rc) rc = rl_registry_put(s, svc, &ne, &err);
    pthread_mutex_unlock(&s->model_change);
    rl_history_list_free(dh, ndh);
    reply = rc ? rl_reply_rl_error(r, &err, rc == RL_EEXIST ? "EndpointExists" : NULL)
               : rl_reply_json(r, 201, rl_endpoint_json(s, svc, &ne));
    rl_endpoint_free(def);
out_body:
    json_decref(body);
    return reply;
}

static enum MHD_Result delete_endpoint(rl_req *r, const rl_service *svc, const rl_endpoint *ep)
{
    rl_server *s = r->srv;
    rl_error err;
    if (ep->is_default) {
        rl_endpoint *v = NULL;
        size_t n = 0;
        if (rl_meta_endpoint_list(s->meta, svc->id, &v, &n, &err))
            return rl_reply_rl_error(r, &err, NULL);
        rl_endpoint_list_free(v, n);
        if (n > 1)
            return rl_reply_error(r, 409, "DefaultEndpointInUse", "the default endpoint cannot "
                                  "be deleted while the service has %zu other endpoints", n - 1);
    }
    pthread_mutex_lock(&s->model_change);
    int rc = rl_meta_endpoint_delete(s->meta, svc->id, ep->name, &err);
    if (!rc) rl_registry_remove(s, svc->id, ep->name);
    pthread_mutex_unlock(&s->model_change);
    return rc ? rl_reply_rl_error(r, &err, NULL) : rl_reply_empty(r, 204);
}

static enum MHD_Result patch_endpoint(rl_req *r, const rl_service *svc, const rl_endpoint *ep)
{
    enum MHD_Result reply;
    if (svc->kind != RL_SERVICE_PREDICTIVE)
        return rl_reply_error(r, 400, "NoUpdatableResources", "a training web service has no "
                              "updatable resources; patch an endpoint of its predictive service");
    if (ep->is_default)
        return rl_reply_error(r, 400, "DefaultEndpointNotUpdatable", "the default endpoint "
                              "follows the service and cannot be patched; add an endpoint "
                              "(PUT .../endpoints/NAME) and patch that");
    json_t *body = rl_body_json(r, &reply);
    if (!body) return reply;
    json_t *res = json_object_get(body, "Resources");
    if (!json_is_array(res) || json_array_size(res) != 1) {
        json_decref(body);
        return rl_reply_error(r, 400, "BadResources", "\"Resources\" must be an array with one "
                              "{\"Name\": \"%s\", \"Location\": {...}}",
                              svc->model_resource_name ? svc->model_resource_name : "");
    }
    json_t *item = json_array_get(res, 0);
    const char *name = json_string_value(json_object_get(item, "Name"));
    json_t *loc = json_object_get(item, "Location");
    if (!name || !svc->model_resource_name || strcmp(name, svc->model_resource_name) != 0) {
        reply = rl_reply_error(r, 400, "UnknownResource", "this service has one updatable "
                               "resource, \"%s\"; got \"%s\"",
                               svc->model_resource_name ? svc->model_resource_name : "",
                               name ? name : "");
        json_decref(body);
        return reply;
    }
    if (!json_is_object(loc)) {
        json_decref(body);
        return rl_reply_error(r, 400, "MissingLocation", "the resource needs a \"Location\" "
                              "{BaseLocation, RelativeLocation, SasBlobToken}");
    }
    char internal[RL_BLOB_ADDRESS_MAX + 1];
    if (rl_location_resolve(r, svc->workspace_id, loc, NULL, internal, sizeof internal, &reply)) {
        json_decref(body);
        return reply;
    }
    json_decref(body);
    return rl_endpoint_set_model(r, svc, ep, internal, RL_ACTION_UPDATE_RESOURCE);
}

static json_t *history_json(rl_server *s, const rl_history_entry *h)
{
    char when[32], ext[RL_BLOB_ADDRESS_MAX + 1];
    rl_iso_time(h->time, when, sizeof when);
    json_t *model = json_null();
    if (h->model_blob) {
        if (rl_blob_ws_external(h->model_blob, ext, sizeof ext, NULL, 0, NULL))
            snprintf(ext, sizeof ext, "%s", h->model_blob);
        model = json_pack("{s:s, s:s}", "RelativeLocation", ext, "Sha256", h->model_sha256);
    }
    json_t *ev = h->evaluation_json ? json_loads(h->evaluation_json, 0, NULL) : NULL;
    (void)s;
    return json_pack("{s:I, s:s, s:s, s:s, s:s?, s:o, s:o}", "Seq", (json_int_t)h->seq, "Time",
                     when, "Action", rl_history_action_name(h->action), "Credential",
                     h->credential, "JobId", h->job_id, "Model", model, "Evaluation",
                     ev ? ev : json_null());
}

static enum MHD_Result history(rl_req *r, const rl_service *svc, const rl_endpoint *ep)
{
    rl_history_entry *v = NULL;
    size_t n = 0;
    rl_error err;
    if (rl_meta_history_list(r->srv->meta, svc->id, ep->name, &v, &n, &err))
        return rl_reply_rl_error(r, &err, NULL);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, history_json(r->srv, &v[i]));
    rl_history_list_free(v, n);
    return rl_reply_json(r, 200, a);
}

static enum MHD_Result rollback(rl_req *r, const rl_service *svc, const rl_endpoint *ep)
{
    rl_server *s = r->srv;
    enum MHD_Result reply;
    rl_error err;
    json_t *body = r->body.len ? rl_body_json(r, &reply) : json_object();
    if (!body) return reply;
    json_t *seqj = json_object_get(body, "Seq");
    if (seqj && !json_is_integer(seqj)) {
        json_decref(body);
        return rl_reply_error(r, 400, "BadSeq", "\"Seq\" must be the integer of a history entry");
    }
    int64_t seq = seqj ? json_integer_value(seqj) : 0;
    json_decref(body);
    rl_history_entry *v = NULL;
    size_t n = 0;
    if (rl_meta_history_list(s->meta, svc->id, ep->name, &v, &n, &err))
        return rl_reply_rl_error(r, &err, NULL);
    const rl_history_entry *target = NULL;
    if (seq) {
        for (size_t i = 0; i < n; i++)
            if (v[i].seq == seq) target = &v[i];
    } else { /* the latest earlier model that differs from the one serving */
        for (size_t i = n; i-- > 0 && !target;)
            if (v[i].model_blob && ep->model_blob && strcmp(v[i].model_blob, ep->model_blob))
                target = &v[i];
    }
    if (!target || !target->model_blob) {
        rl_history_list_free(v, n);
        return rl_reply_error(r, seq ? 404 : 409, seq ? "HistoryEntryNotFound" : "NothingToRollBack",
                              seq ? "endpoint '%s' has no history entry %lld with a model"
                                  : "endpoint '%s' has no earlier model to go back to%.0lld",
                              ep->name, (long long)seq);
    }
    char internal[RL_BLOB_ADDRESS_MAX + 1];
    snprintf(internal, sizeof internal, "%s", target->model_blob);
    rl_history_list_free(v, n);
    return rl_endpoint_set_model(r, svc, ep, internal, RL_ACTION_ROLLBACK);
}

static enum MHD_Result refresh(rl_req *r, const rl_service *svc, const rl_endpoint *ep)
{
    rl_server *s = r->srv;
    enum MHD_Result reply;
    rl_error err;
    json_t *body = r->body.len ? rl_body_json(r, &reply) : json_object();
    if (!body) return reply;
    json_t *ow = json_object_get(body, "OverwriteResources");
    if (ow && !json_is_boolean(ow)) {
        json_decref(body);
        return rl_reply_error(r, 400, "BadOverwriteResources", "\"OverwriteResources\" must be "
                              "true or false");
    }
    int overwrite = ow && json_is_true(ow);
    json_decref(body);
    /* The endpoint takes the service's current experiment... */
    pthread_mutex_lock(&s->model_change);
    int rc = rl_registry_put(s, svc, ep, &err);
    pthread_mutex_unlock(&s->model_change);
    if (rc) return rl_reply_rl_error(r, &err, NULL);
    rl_endpoint *def = NULL;
    if (!overwrite || ep->is_default || svc->kind != RL_SERVICE_PREDICTIVE)
        return rl_reply_json(r, 200, rl_endpoint_json(s, svc, ep));
    /* ...and, asked to, its current model. */
    if (rl_meta_endpoint_get(s->meta, svc->id, "default", &def, &err))
        return rl_reply_rl_error(r, &err, NULL);
    char internal[RL_BLOB_ADDRESS_MAX + 1];
    snprintf(internal, sizeof internal, "%s", def->model_blob ? def->model_blob : "");
    rl_endpoint_free(def);
    if (!internal[0]) return rl_reply_json(r, 200, rl_endpoint_json(s, svc, ep));
    return rl_endpoint_set_model(r, svc, ep, internal, RL_ACTION_REFRESH);
}

enum MHD_Result rl_route_endpoint(rl_req *r, const rl_service *svc, rl_endpoint *ep)
{
    const char *m = r->method;
    if (r->nseg == 6) {
        if (!strcmp(m, "PUT")) return put_endpoint(r, svc, ep, r->seg[5]);
        if (!ep) return rl_reply_error(r, 404, "EndpointNotFound", "no endpoint '%s'", r->seg[5]);
        if (!strcmp(m, "DELETE")) return delete_endpoint(r, svc, ep);
        if (!strcmp(m, "PATCH")) return patch_endpoint(r, svc, ep);
        return rl_reply_error(r, 405, "MethodNotAllowed", "an endpoint takes GET, PUT, PATCH "
                              "or DELETE");
    }
    const char *what = r->seg[6];
    if (!strcmp(what, "history"))
        return strcmp(m, "GET") ? rl_reply_error(r, 405, "MethodNotAllowed", "history takes GET")
                                : history(r, svc, ep);
    if (!strcmp(what, "rollback"))
        return strcmp(m, "POST") ? rl_reply_error(r, 405, "MethodNotAllowed", "rollback takes POST")
                                 : rollback(r, svc, ep);
    if (!strcmp(what, "refresh"))
        return strcmp(m, "POST") ? rl_reply_error(r, 405, "MethodNotAllowed", "refresh takes POST")
                                 : refresh(r, svc, ep);
    return rl_reply_error(r, 404, "RouteNotFound", "no route %s %s", m, r->path);
}
