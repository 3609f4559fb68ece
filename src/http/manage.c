/* manage.c - the management API: workspaces, publishing, services,
 * endpoints and keys (docs/api.md, "Management"). Every route here takes the
 * workspace token. */
#include "http/internal.h"
#include "base/crypto.h"
#include "base/mem.h"
#include "data/io.h"
#include "learners/learner.h"
#include "store/blob.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- shapes ---- */

json_t *rl_endpoint_json(rl_server *s, const rl_service *svc, const rl_endpoint *ep)
{
    char created[32], api_id[33], api[1200], help[1300], pk[64], sk[64];
    rl_iso_time(ep->created, created, sizeof created);
    rl_api_id(svc->id, ep->name, ep->is_default, api_id);
    snprintf(api, sizeof api, "%s/workspaces/%s/services/%s", s->public_url, svc->workspace_id,
             api_id);
    snprintf(help, sizeof help, "%s/help", api);
    rl_auth_derive_key(s, ep->key_nonce_primary, pk, sizeof pk);
    rl_auth_derive_key(s, ep->key_nonce_secondary, sk, sizeof sk);
    json_t *resources = json_array();
    if (ep->model_blob)
        json_array_append_new(resources,
                              json_pack("{s:s, s:s, s:o}", "Name",
                                        svc->model_resource_name ? svc->model_resource_name : "",
                                        "Kind", "TrainedModel", "Location",
                                        rl_blob_location(s, ep->model_blob, 1)));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:i, s:s, s:s}",
                     "Name", ep->name, "Description", ep->description ? ep->description : "",
                     "CreationTime", created, "WorkspaceId", svc->workspace_id, "WebServiceId",
                     svc->id, "HelpLocation", help, "PrimaryKey", pk, "SecondaryKey", sk,
                     "ApiLocation", api, "Resources", resources, "Version",
                     (json_int_t)ep->version, "MaxConcurrentCalls", ep->max_concurrent_calls,
                     "DiagnosticsTraceLevel", rl_trace_level_name(ep->diagnostics_trace_level),
                     "ThrottleLevel", rl_throttle_name(ep->throttle_level));
}

static json_t *service_json(const rl_service *svc, int full)
{
    char created[32];
    rl_iso_time(svc->created, created, sizeof created);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Id", svc->id, "Name", svc->name, "Kind",
                          rl_service_kind_name(svc->kind), "Description",
                          svc->description ? svc->description : "", "CreationTime", created);
    if (full && j) {
        json_object_set_new(j, "Partner", svc->partner_id ? json_string(svc->partner_id)
                                                          : json_null());
        json_t *exp = json_loads(svc->experiment_json, 0, NULL);
        json_object_set_new(j, "Experiment", exp ? exp : json_null());
        if (svc->model_resource_name)
            json_object_set_new(j, "ResourceName", json_string(svc->model_resource_name));
    }
    return j;
}

/* A service of workspace ws, or a 404 reply. */
static rl_service *get_service(rl_req *r, const char *ws, const char *id, enum MHD_Result *reply)
{
    rl_service *svc = NULL;
    rl_error err;
    if (rl_meta_service_get(r->srv->meta, id, &svc, &err) != RL_OK ||
        strcmp(svc->workspace_id, ws) != 0) {
        rl_service_free(svc);
        *reply = rl_reply_error(r, 404, "ServiceNotFound", "no web service '%s' in workspace "
                                "'%s'", id, ws);
        return NULL;
    }
    return svc;
}

/* ---- workspaces ---- */

static int valid_workspace_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static enum MHD_Result workspace_route(rl_req *r, const char *ws)
{
    enum MHD_Result reply;
    if (!strcmp(r->method, "PUT")) {
        if (rl_auth_admin(r, &reply)) return reply;
        if (!valid_workspace_id(ws))
            return rl_reply_error(r, 400, "BadWorkspaceName", "workspace names are 1-64 "
                                  "lowercase letters, digits and hyphens");
        char token[128], hash[65];
        rl_error err;
        if (rl_random_token("rlw_", token, sizeof token, &err))
            return rl_reply_rl_error(r, &err, NULL);
        rl_auth_hash(token, hash);
        rl_workspace w = {(char *)ws, hash, rl_now_ms()};
        if (rl_meta_workspace_create(r->srv->meta, &w, &err))
            return rl_reply_rl_error(r, &err, err.code == RL_EEXIST ? "WorkspaceExists" : NULL);
        return rl_reply_json(r, 201, json_pack("{s:s, s:s}", "Id", ws, "AuthorizationToken",
                                               token));
    }
    if (strcmp(r->method, "GET") != 0)
        return rl_reply_error(r, 405, "MethodNotAllowed", "a workspace takes GET or PUT");
    if (rl_auth_workspace(r, ws, &reply)) return reply;
    rl_workspace *w = NULL;
    rl_error err;
    if (rl_meta_workspace_get(r->srv->meta, ws, &w, &err)) return rl_reply_rl_error(r, &err, NULL);
    char created[32];
    rl_iso_time(w->created, created, sizeof created);
    rl_workspace_free(w);
    return rl_reply_json(r, 200, json_pack("{s:s, s:s}", "Id", ws, "CreationTime", created));
}

/* ---- publishing ---- */

/* A blob address from a {"RelativeLocation": ...} object or a plain string. */
static const char *blob_address(json_t *ref)
{
    if (json_is_string(ref)) return json_string_value(ref);
    return json_string_value(json_object_get(ref, "RelativeLocation"));
}

int rl_endpoint_init_new(rl_server *s, const char *service_id, rl_endpoint *ep,
                         char nonces[2][33], char hashes[2][65], rl_error *err)
{
    char key[64];
    memset(ep, 0, sizeof *ep);
    for (int i = 0; i < 2; i++) {
        int rc = rl_auth_new_key(s, nonces[i], key, hashes[i], err);
        if (rc) return rc;
    }
    ep->service_id = (char *)service_id;
    ep->name = (char *)"default";
    ep->description = (char *)"";
    ep->created = rl_now_ms();
    ep->primary_key_hash = hashes[0];
    ep->secondary_key_hash = hashes[1];
    ep->key_nonce_primary = nonces[0];
    ep->key_nonce_secondary = nonces[1];
    ep->throttle_level = RL_THROTTLE_HIGH;
    ep->max_concurrent_calls = 20;
    ep->diagnostics_trace_level = RL_TRACE_NONE;
    ep->version = 1;
    ep->is_default = 1;
    return RL_OK;
}

/* Trains the first model: runs the training experiment on the data blob.
 * *model and *evaluation (may be NULL) belong to the caller. */
static int train_first(rl_server *s, const rl_experiment *e, const char *data_address,
                       const char *shown, rl_model **model, json_t **evaluation, rl_error *err)
{
    char *path = NULL;
    rl_table *t = NULL;
    rl_run_result *res = NULL;
    int rc = rl_blob_local_path(s->blobs, data_address, &path, NULL, err);
    if (!rc) rc = rl_table_read_file(path, NULL, &t, err);
    if (rc) {
        rl_error_wrap(err, "TrainingData '%s'", shown);
        goto done;
    }
    rl_binding b = {rl_experiment_input(e, 0), t, NULL};
    rl_run_opts ro = {&b, 1, NULL, NULL, NULL};
    if ((rc = rl_experiment_run(e, &ro, &res, err))) goto done;
    *model = NULL;
    *evaluation = NULL;
    for (size_t i = 0; i < res->noutputs; i++) {
        if (res->outputs[i].kind == RL_VALUE_MODEL && !*model)
            *model = rl_model_ref(res->outputs[i].model);
        if (res->outputs[i].kind == RL_VALUE_EVALUATION && !*evaluation)
            *evaluation = json_incref(res->outputs[i].evaluation);
    }
    if (!*model) {
        json_decref(*evaluation);
        *evaluation = NULL;
        rc = rl_error_set(err, RL_EINVAL, "the training experiment has no Web Service Output "
                          "connected to Train Model's trained model");
    }
done:
    rl_free(path);
    rl_table_free(t);
    rl_run_result_free(res);
    return rc;
}

/* Saves a model into the blob store under models/; *address and sha256
 * receive where and its checksum. */
int rl_store_model(rl_server *s, const rl_model *m, const char *ws, const char *prefix,
                   char **address, char sha256[65], rl_error *err)
{
    rl_buf b = RL_BUF_INIT;
    int rc = rl_model_save(m, &b, err);
    if (rc) return rc;
    if ((rc = rl_sha256_hex(b.data, b.len, sha256, err))) goto done;
    char addr[512];
    snprintf(addr, sizeof addr, "models/%s/%s/%lld-%.12s.ilearner", ws, prefix,
             (long long)rl_now_ms(), sha256);
    if ((rc = rl_blob_put(s->blobs, addr, b.data, b.len, NULL, err))) goto done;
    *address = rl_strdup(addr);
    if (!*address) rc = rl_error_set(err, RL_ENOMEM, "out of memory");
done:
    rl_buf_fini(&b);
    return rc;
}

static enum MHD_Result publish(rl_req *r, const char *ws)
{
    enum MHD_Result reply;
    rl_server *s = r->srv;
    rl_error err;
    rl_error_clear(&err);
    json_t *body = rl_body_json(r, &reply), *exp_json = NULL, *evaluation = NULL;
    rl_experiment *train_exp = NULL, *pred_exp = NULL;
    rl_model *model = NULL;
    char *model_addr = NULL, *train_text = NULL, *pred_text = NULL;
    char sha[65];
    if (!body) return reply;
    const char *name = json_string_value(json_object_get(body, "Name"));
    json_t *desc_json = json_object_get(body, "Description");
    const char *desc = json_string_value(desc_json);
    const char *data_ext = blob_address(json_object_get(body, "TrainingData"));
    char data[RL_BLOB_ADDRESS_MAX + 1];
    json_t *experiment = json_object_get(body, "Experiment");
    if (!name || !*name || strlen(name) > 200) {
        reply = rl_reply_error(r, 400, "BadName", "\"Name\" must be a string of 1 to 200 "
                               "characters");
        goto out;
    }
    if ((desc_json && !json_is_null(desc_json) && !desc) || (desc && strlen(desc) > 4096)) {
        reply = rl_reply_error(r, 400, "BadDescription", "\"Description\" must be a string of "
                               "at most 4096 characters");
        goto out;
    }
    if (data_ext && rl_blob_ws_address(ws, data_ext, data, sizeof data, &err)) {
        reply = rl_reply_rl_error(r, &err, "InvalidBlobPath");
        goto out;
    }
    if (!data_ext) {
        reply = rl_reply_error(r, 400, "MissingTrainingData", "\"TrainingData\" must name a blob "
                               "of the built-in store, e.g. {\"RelativeLocation\": "
                               "\"data/census.csv\"}; upload it with PUT /storage/...");
        goto out;
    }
    if (experiment) {
        exp_json = json_deep_copy(experiment);
    } else {
        const char *label = json_string_value(json_object_get(body, "Label"));
        json_t *ljson = json_object_get(body, "Learner");
        const char *lname = json_string_value(ljson);
        json_t *params = json_object_get(body, "Parameters");
        if (ljson && !json_is_null(ljson) && !lname) {
            reply = rl_reply_error(r, 400, "UnknownLearner", "\"Learner\" must be a learner's "
                                   "name; `relearn modules` lists them");
            goto out;
        }
        if (!label) {
            reply = rl_reply_error(r, 400, "MissingLabel", "give \"Label\" (the column to "
                                   "predict), or a training \"Experiment\"");
            goto out;
        }
        const rl_learner_kind *kind = lname ? rl_learner_find(lname) : NULL;
        if (lname && !kind) {
            reply = rl_reply_error(r, 400, "UnknownLearner", "unknown learner '%s'; "
                                   "`relearn modules` lists them", lname);
            goto out;
        }
        if (!kind) {
            /* Choose by the label's values, as `relearn train` does. */
            char *path = NULL;
            rl_table *t = NULL;
            if (rl_blob_local_path(s->blobs, data, &path, NULL, &err) ||
                rl_table_read_file(path, NULL, &t, &err)) {
                rl_free(path);
                rl_error_wrap(&err, "TrainingData '%s'", data_ext);
                reply = rl_reply_rl_error(r, &err, "BadTrainingData");
                goto out;
            }
            long li = rl_table_find(t, label);
            kind = li >= 0 ? rl_learner_default_for(rl_table_col(t, (size_t)li))
                           : &rl_two_class_boosted_decision_tree;
            rl_table_free(t);
            rl_free(path);
        }
        if (params && !json_is_object(params)) {
            reply = rl_reply_error(r, 400, "BadParameters", "\"Parameters\" must be an object");
            goto out;
        }
        exp_json = rl_experiment_standard(name, label, kind, params, 0.75, 0);
    }
    rl_experiment_opts eo = {"Experiment", NULL, 0};
    if (rl_experiment_parse_json(exp_json, &eo, &train_exp, &err)) goto fail;
    if (!rl_experiment_is_training(train_exp) || rl_experiment_ninputs(train_exp) != 1) {
        reply = rl_reply_error(r, 400, "NotATrainingExperiment", "the experiment must train a "
                               "model (Train Model) from one Web Service Input");
        goto out;
    }
    if (rl_experiment_to_predictive(train_exp, &pred_exp, &err)) goto fail;

    pthread_mutex_lock(&s->model_change);
    int rc = train_first(s, train_exp, data, data_ext, &model, &evaluation, &err);
    char train_id[33], pred_id[33];
    if (!rc) rc = rl_random_hex(16, train_id, sizeof train_id, &err);
    if (!rc) rc = rl_random_hex(16, pred_id, sizeof pred_id, &err);
    if (!rc) rc = rl_store_model(s, model, ws, pred_id, &model_addr, sha, &err);
    if (rc) {
        pthread_mutex_unlock(&s->model_change);
        goto fail;
    }
    train_text = json_dumps(exp_json, JSON_COMPACT);
    json_t *pj = rl_experiment_to_json(pred_exp);
    pred_text = pj ? json_dumps(pj, JSON_COMPACT) : NULL;
    json_decref(pj);
    char resource[512], train_name[300];
    rl_experiment_resource_name(rl_experiment_name(train_exp), resource, sizeof resource);
    snprintf(train_name, sizeof train_name, "%s [Training]", name);
    int64_t now = rl_now_ms();
    rl_service tsvc = {train_id, (char *)ws, train_name, (char *)(desc ? desc : ""),
                       RL_SERVICE_TRAINING, train_text, NULL, NULL, now};
    rl_service psvc = {pred_id, (char *)ws, (char *)name, (char *)(desc ? desc : ""),
                       RL_SERVICE_PREDICTIVE, pred_text, resource, train_id, now};
    rl_endpoint tep, pep;
    char tn[2][33], th[2][65], pn[2][33], ph[2][65];
    char *eval_text = evaluation ? json_dumps(evaluation, JSON_COMPACT | JSON_REAL_PRECISION(17))
                                 : NULL;
    rl_history_entry hist = {0};
    hist.time = now;
    hist.credential = (char *)"workspace token";
    hist.evaluation_json = eval_text;
    hist.action = RL_ACTION_PUBLISH;
    rc = train_text && pred_text ? RL_OK : rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc) rc = rl_endpoint_init_new(s, train_id, &tep, tn, th, &err);
    if (!rc) rc = rl_endpoint_init_new(s, pred_id, &pep, pn, ph, &err);
    if (!rc) {
        pep.model_blob = model_addr;
        pep.model_sha256 = sha;
        rc = rl_meta_service_create(s->meta, &tsvc, &tep, NULL, &err);
    }
    if (!rc) rc = rl_meta_service_create(s->meta, &psvc, &pep, &hist, &err);
    if (!rc) rc = rl_meta_service_link(s->meta, train_id, pred_id, &err);
    if (!rc) rc = rl_registry_put(s, &tsvc, &tep, &err);
    if (!rc) rc = rl_registry_put(s, &psvc, &pep, &err);
    pthread_mutex_unlock(&s->model_change);
    free(eval_text);
    if (rc) goto fail;

    json_t *tj = rl_endpoint_json(s, &tsvc, &tep), *pjs = rl_endpoint_json(s, &psvc, &pep);
    /* The services' view of the endpoint object (docs/api.md): Name is the
     * service's name, not the endpoint's. */
    json_object_set_new(tj, "Name", json_string(train_name));
    json_object_set_new(pjs, "Name", json_string(name));
    json_object_set_new(tj, "Id", json_string(train_id));
    json_object_set_new(tj, "Kind", json_string("training"));
    json_object_set_new(tj, "ServiceName", json_string(train_name));
    json_object_set_new(pjs, "Id", json_string(pred_id));
    json_object_set_new(pjs, "Kind", json_string("predictive"));
    json_object_set_new(pjs, "ServiceName", json_string(name));
    reply = rl_reply_json(r, 201, json_pack("{s:o, s:o, s:O}", "TrainingService", tj,
                                            "PredictiveService", pjs, "Evaluation",
                                            evaluation ? evaluation : json_null()));
    goto out;
fail:
    reply = rl_reply_rl_error(r, &err, NULL);
out:
    json_decref(body);
    json_decref(exp_json);
    json_decref(evaluation);
    rl_experiment_free(train_exp);
    rl_experiment_free(pred_exp);
    rl_model_unref(model);
    rl_free(model_addr);
    free(train_text);
    free(pred_text);
    return reply;
}

/* ---- services and endpoints ---- */

static enum MHD_Result list_services(rl_req *r, const char *ws)
{
    rl_service *v = NULL;
    size_t n = 0;
    rl_error err;
    if (rl_meta_service_list(r->srv->meta, ws, &v, &n, &err)) return rl_reply_rl_error(r, &err, NULL);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, service_json(&v[i], 0));
    rl_service_list_free(v, n);
    return rl_reply_json(r, 200, a);
}

static enum MHD_Result endpoints_route(rl_req *r, const rl_service *svc)
{
    rl_error err;
    rl_server *s = r->srv;
    if (r->nseg == 5) {
        if (strcmp(r->method, "GET") != 0)
            return rl_reply_error(r, 405, "MethodNotAllowed", "the endpoint list takes GET");
        rl_endpoint *v = NULL;
        size_t n = 0;
        if (rl_meta_endpoint_list(s->meta, svc->id, &v, &n, &err))
            return rl_reply_rl_error(r, &err, NULL);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(a, rl_endpoint_json(s, svc, &v[i]));
        rl_endpoint_list_free(v, n);
        return rl_reply_json(r, 200, a);
    }
    const char *name = r->seg[5];
    rl_endpoint *ep = NULL;
    if (rl_meta_endpoint_get(s->meta, svc->id, name, &ep, &err)) {
        if (r->nseg == 6 && !strcmp(r->method, "PUT")) return rl_route_endpoint(r, svc, NULL);
        return rl_reply_error(r, 404, "EndpointNotFound", "web service %s has no endpoint '%s'",
                              svc->id, name);
    }
    enum MHD_Result reply;
    if (r->nseg == 6 && !strcmp(r->method, "GET")) {
        reply = rl_reply_json(r, 200, rl_endpoint_json(s, svc, ep));
    } else if ((r->nseg == 6 && strcmp(r->method, "GET") != 0) ||
               (r->nseg == 7 && strcmp(r->seg[6], "regeneratekeys") != 0)) {
        reply = rl_route_endpoint(r, svc, ep);
    } else if (r->nseg == 7 && !strcmp(r->seg[6], "regeneratekeys") &&
               !strcmp(r->method, "POST")) {
        json_t *body = r->body.len ? rl_body_json(r, &reply) : json_object();
        if (!body) {
            rl_endpoint_free(ep);
            return reply;
        }
        json_t *kn = json_object_get(body, "KeyName");
        const char *which = kn ? json_string_value(kn) : "primary";
        if (!which) which = ""; /* not a string: refused below */
        int primary = !strcasecmp(which, "primary");
        if (!primary && strcasecmp(which, "secondary") != 0) {
            json_decref(body);
            rl_endpoint_free(ep);
            return rl_reply_error(r, 400, "BadKeyName", "\"KeyName\" must be \"primary\" or "
                                  "\"secondary\"");
        }
        json_decref(body);
        char nonce[33], key[64], hash[65];
        pthread_mutex_lock(&s->model_change);
        /* The row as it is now, read under the lock: ep was read before it,
         * and writing that back would undo a settings change or the other
         * key's regeneration acknowledged meanwhile. */
        rl_endpoint *cur = NULL;
        int rc = rl_meta_endpoint_get(s->meta, svc->id, ep->name, &cur, &err);
        if (!rc) {
            rl_endpoint_free(ep);
            ep = cur;
            rc = rl_auth_new_key(s, nonce, key, hash, &err);
        }
        if (!rc) {
            char **np = primary ? &ep->key_nonce_primary : &ep->key_nonce_secondary;
            char **hp = primary ? &ep->primary_key_hash : &ep->secondary_key_hash;
            rl_free(*np);
            rl_free(*hp);
            *np = rl_strdup(nonce);
            *hp = rl_strdup(hash);
            rc = *np && *hp ? rl_meta_endpoint_update(s->meta, ep, &err)
                            : rl_error_set(&err, RL_ENOMEM, "out of memory");
        }
        if (!rc) {
            /* The old key stops working at once. */
            rl_served *sv = rl_registry_find(s, svc->id, ep->name);
            if (sv) {
                pthread_rwlock_wrlock(&s->reg.lock);
                snprintf(primary ? sv->primary_hash : sv->secondary_hash, 65, "%s", hash);
                pthread_rwlock_unlock(&s->reg.lock);
                rl_served_release(s, sv);
            }
        }
        pthread_mutex_unlock(&s->model_change);
        reply = rc ? rl_reply_rl_error(r, &err, NULL)
                   : rl_reply_json(r, 200, rl_endpoint_json(s, svc, ep));
    } else {
        reply = rl_reply_error(r, 404, "RouteNotFound", "no route %s %s", r->method, r->path);
    }
    rl_endpoint_free(ep);
    return reply;
}

enum MHD_Result rl_route_manage(rl_req *r)
{
    enum MHD_Result reply;
    const char *ws = r->seg[1];
    if (r->nseg == 2) return workspace_route(r, ws);
    if (strcmp(r->seg[2], "webservices") != 0)
        return rl_reply_error(r, 404, "RouteNotFound", "no route %s %s; see docs/api.md",
                              r->method, r->path);
    if (rl_auth_workspace(r, ws, &reply)) return reply;
    if (r->nseg == 3) {
        if (!strcmp(r->method, "GET")) return list_services(r, ws);
        if (!strcmp(r->method, "POST")) return publish(r, ws);
        return rl_reply_error(r, 405, "MethodNotAllowed", "webservices takes GET or POST");
    }
    rl_service *svc = get_service(r, ws, r->seg[3], &reply);
    if (!svc) return reply;
    if (r->nseg == 4) {
        reply = strcmp(r->method, "GET")
                    ? rl_reply_error(r, 405, "MethodNotAllowed", "a web service takes GET")
                    : rl_reply_json(r, 200, service_json(svc, 1));
    } else if (!strcmp(r->seg[4], "endpoints") && r->nseg <= 7) {
        reply = endpoints_route(r, svc);
    } else if (!strcmp(r->seg[4], "definition") && r->nseg == 5) {
        reply = rl_route_definition(r, svc);
    } else {
        reply = rl_reply_error(r, 404, "RouteNotFound", "no route %s %s", r->method, r->path);
    }
    rl_service_free(svc);
    return reply;
}
