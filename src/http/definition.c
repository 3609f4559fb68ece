/* definition.c - new-style web-service definitions: export and import.
 *
 * GET /workspaces/{ws}/webservices/{id}/definition answers the service in the
 * shape of Azure ML's new web services: properties with title, description,
 * realtimeConfiguration, diagnostics, input and output schema, exampleRequest,
 * assets (modules, and the trained model as the Resource asset whose
 * locationInfo.uri points at its .ilearner), packageType "Graph" and the
 * package of nodes and edges. Keys are never exported.
 *
 * PUT of an edited definition updates the service: everything is validated
 * first and every problem listed; a changed trained-model uri is fetched,
 * verified and loaded before anything changes (endpoints.c), then the service,
 * its default endpoint and its model change. The checks that need no store
 * are rl_definition_parse (http/parse.h), which the fuzz harness runs alone.
 */
#include "http/internal.h"
#include "http/parse.h"
#include "base/mem.h"
#include "store/blob.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *json_type_of(rl_type t)
{
    return t == RL_TYPE_NUMERIC ? "number" : t == RL_TYPE_BOOLEAN ? "boolean" : "string";
}

/* "Clean Missing Data" -> "clean-missing-data". */
static void kebab(const char *name, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < size; p++)
        out[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
    out[k] = '\0';
}

static json_t *schema_json(const char *title, const char *port, json_t *props)
{
    return json_pack("{s:s, s:s, s:{s:{s:s, s:o}}}", "title", title, "type", "object",
                     "properties", port, "type", "object", "properties", props);
}

static json_t *export(rl_server *s, const rl_service *svc, const rl_endpoint *def,
                      const rl_model *m)
{
    json_t *exp = json_loads(svc->experiment_json, 0, NULL);
    json_t *nodes = json_object(), *edges = json_array(), *assets = json_object();
    size_t i, n = 0;
    json_t *node;
    const char *in_name = "input1", *out_name = "output1";
    json_array_foreach(json_object_get(exp, "nodes"), i, node)
    {
        const char *id = json_string_value(json_object_get(node, "id"));
        const char *module = json_string_value(json_object_get(node, "module"));
        json_t *params = json_object_get(node, "params");
        const char *pname = json_string_value(json_object_get(params, "name"));
        if (!strcmp(module, "Web Service Input")) {
            in_name = pname;
            json_object_set_new(nodes, id, json_pack("{s:s}", "inputId", pname));
        } else if (!strcmp(module, "Web Service Output")) {
            out_name = pname;
            json_object_set_new(nodes, id, json_pack("{s:s}", "outputId", pname));
        } else {
            char asset[32], uri[1600], k[128];
            snprintf(asset, sizeof asset, "asset%zu", ++n);
            if (!strcmp(module, "Trained Model")) {
                json_t *loc = def->model_blob ? rl_blob_location(s, def->model_blob, 0) : NULL;
                const char *b = json_string_value(json_object_get(loc, "BaseLocation"));
                const char *rel = json_string_value(json_object_get(loc, "RelativeLocation"));
                snprintf(uri, sizeof uri, "%s%s", b ? b : "", rel ? rel : "");
                json_decref(loc);
                json_object_set_new(assets, asset,
                                    json_pack("{s:s, s:s, s:{s:s}}", "name", pname, "type",
                                              "Resource", "locationInfo", "uri", uri));
                json_object_set_new(nodes, id, json_pack("{s:s}", "assetId", asset));
            } else {
                kebab(module, k, sizeof k);
                snprintf(uri, sizeof uri, "relearn://modules/%s", k);
                json_object_set_new(assets, asset,
                                    json_pack("{s:s, s:s, s:{s:s}}", "name", module, "type",
                                              "Module", "locationInfo", "uri", uri));
                json_object_set_new(nodes, id, json_pack("{s:s, s:O}", "assetId", asset,
                                                         "parameters", params));
            }
        }
    }
    json_t *e;
    json_array_foreach(json_object_get(exp, "edges"), i, e)
    {
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *to = json_string_value(json_object_get(e, "to"));
        const char *fc = strchr(from, ':'), *tc = strchr(to, ':');
        json_t *edge = json_object();
        json_object_set_new(edge, "sourceNodeId", json_stringn(from, fc ? (size_t)(fc - from)
                                                                        : strlen(from)));
        json_object_set_new(edge, "sourcePortId", json_string(fc ? fc + 1 : ""));
        json_object_set_new(edge, "targetNodeId", json_stringn(to, tc ? (size_t)(tc - to)
                                                                      : strlen(to)));
        json_object_set_new(edge, "targetPortId", json_string(tc ? tc + 1 : ""));
        json_array_append_new(edges, edge);
    }
    json_t *in_props = json_object(), *out_props = json_object(), *example = json_array();
    for (size_t c = 0; m && c < rl_model_ninputs(m); c++) {
        rl_type t = rl_model_input_type(m, c);
        json_object_set_new(in_props, rl_model_input_name(m, c),
                            json_pack("{s:s}", "type", json_type_of(t)));
        json_object_set_new(out_props, rl_model_input_name(m, c),
                            json_pack("{s:s}", "type", json_type_of(t)));
        json_array_append_new(example, t == RL_TYPE_STRING ? json_string("value")
                                       : t == RL_TYPE_BOOLEAN ? json_false()
                                                              : json_integer(0));
    }
    json_object_set_new(out_props, "Scored Labels", json_pack("{s:s}", "type", "string"));
    if (m && rl_model_task(m) == RL_TASK_BINARY)
        json_object_set_new(out_props, "Scored Probabilities",
                            json_pack("{s:s}", "type", "number"));
    char created[32], api_id[33], swagger[1400];
    rl_iso_time(svc->created, created, sizeof created);
    rl_api_id(svc->id, "default", 1, api_id);
    snprintf(swagger, sizeof swagger, "%s/workspaces/%s/services/%s/swagger.json", s->public_url,
             svc->workspace_id, api_id);
    json_t *props = json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:{s:i}, s:{s:s}, s:{s:s}, s:o, s:o, "
        "s:{s:{s:[o]}, s:{}}, s:o, s:{}, s:s, s:{s:o, s:o, s:{}}}",
        "title", svc->name, "description", svc->description ? svc->description : "",
        "createdOn", created, "provisioningState", "Succeeded", "readOnly", 0,
        "exposeSampleData", 1, "swaggerLocation", swagger, "realtimeConfiguration",
        "maxConcurrentCalls", def->max_concurrent_calls, "diagnostics", "level",
        rl_trace_level_name(def->diagnostics_trace_level), "machineLearningWorkspace", "id",
        svc->workspace_id, "input", schema_json("input", in_name, in_props), "output",
        schema_json("output", out_name, out_props), "exampleRequest", "inputs", in_name, example,
        "globalParameters", "assets", assets, "parameters", "packageType", "Graph", "package",
        "nodes", nodes, "edges", edges, "graphParameters");
    char id[600];
    snprintf(id, sizeof id, "/workspaces/%s/webservices/%s", svc->workspace_id, svc->id);
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "name", svc->name, "type",
                            "Microsoft.MachineLearning/webServices", "location", "relearn",
                            "properties", props);
    json_decref(exp);
    return out;
}

/* ---- import ---- */

typedef struct problems {
    rl_buf text;
    int n;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rl_buf_printf(&p->text, "%s%s", p->n++ ? "\n" : "", line);
}

/* The experiment JSON of a definition's package, or NULL with problems. */
static json_t *package_experiment(const json_t *pkg, const json_t *assets, const char *name,
                                  const char **model_uri, const char **resource, problems *p)
{
    json_t *nodes = json_array(), *edges = json_array();
    const char *id;
    json_t *node;
    json_object_foreach((json_t *)json_object_get(pkg, "nodes"), id, node)
    {
        const char *in = json_string_value(json_object_get(node, "inputId"));
        const char *out = json_string_value(json_object_get(node, "outputId"));
        const char *asset = json_string_value(json_object_get(node, "assetId"));
        json_t *params = json_object_get(node, "parameters");
        if (in) {
            json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", id, "module",
                                                   "Web Service Input", "params", "name", in));
        } else if (out) {
            json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", id, "module",
                                                   "Web Service Output", "params", "name", out));
        } else if (asset) {
            json_t *a = json_object_get(assets, asset);
            const char *aname = json_string_value(json_object_get(a, "name"));
            const char *type = json_string_value(json_object_get(a, "type"));
            if (!aname || !type) {
                problem(p, "package node '%s': asset '%s' is missing or has no name and type",
                        id, asset);
                continue;
            }
            if (!strcmp(type, "Resource")) {
                *resource = aname;
                *model_uri =
                    json_string_value(json_object_get(json_object_get(a, "locationInfo"), "uri"));
                json_array_append_new(nodes, json_pack("{s:s, s:s, s:{s:s}}", "id", id, "module",
                                                       "Trained Model", "params", "name", aname));
            } else if (!strcmp(type, "Module")) {
                /* "o" takes the new {} ("O" would leak it); "O" shares params. */
                json_array_append_new(nodes, json_pack(params ? "{s:s, s:s, s:O}"
                                                              : "{s:s, s:s, s:o}",
                                                       "id", id, "module", aname, "params",
                                                       params ? params : json_object()));
            } else {
                problem(p, "asset '%s': type must be \"Module\" or \"Resource\", not \"%s\"",
                        asset, type);
            }
        } else {
            problem(p, "package node '%s' needs one of inputId, outputId or assetId", id);
        }
    }
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(pkg, "edges"), i, e)
    {
        const char *sn = json_string_value(json_object_get(e, "sourceNodeId"));
        const char *sp = json_string_value(json_object_get(e, "sourcePortId"));
        const char *tn = json_string_value(json_object_get(e, "targetNodeId"));
        const char *tp = json_string_value(json_object_get(e, "targetPortId"));
        if (!sn || !tn) {
            problem(p, "package edge %zu needs sourceNodeId and targetNodeId", i + 1);
            continue;
        }
        /* Whole names (fixed buffers cut long ones, mid-character at worst,
         * and the edge then vanished without a problem). */
        json_t *from = json_sprintf("%s%s%s", sn, sp && *sp ? ":" : "", sp && *sp ? sp : "");
        json_t *to = json_sprintf("%s%s%s", tn, tp && *tp ? ":" : "", tp && *tp ? tp : "");
        json_t *edge = from && to ? json_pack("{s:O, s:O}", "from", from, "to", to) : NULL;
        json_decref(from);
        json_decref(to);
        if (json_array_append_new(edges, edge))
            problem(p, "package edge %zu: out of memory", i + 1);
    }
    return json_pack("{s:s, s:i, s:s, s:o, s:o}", "format", "relearn-experiment", "version", 1,
                     "name", name, "nodes", nodes, "edges", edges);
}

int rl_definition_parse(const json_t *props, const char *exp_name, const char *resource_name,
                        rl_trace_level level, rl_definition *out, rl_error *err)
{
    rl_definition d = {0};
    problems p = {RL_BUF_INIT, 0};
    rl_error perr;
    d.title = json_string_value(json_object_get(props, "title"));
    d.description = json_object_get(props, "description");
    d.max_concurrent_calls =
        json_object_get(json_object_get(props, "realtimeConfiguration"), "maxConcurrentCalls");
    d.level = level;
    const json_t *desc = d.description, *mcc = d.max_concurrent_calls;
    const char *lname = json_string_value(json_object_get(json_object_get(props, "diagnostics"),
                                                          "level"));
    const char *ptype = json_string_value(json_object_get(props, "packageType"));
    if (!d.title || !*d.title || strlen(d.title) > 200)
        problem(&p, "properties.title must be a string of 1 to 200 characters");
    if (desc && !json_is_string(desc) && !json_is_null(desc))
        problem(&p, "properties.description must be a string");
    if (mcc && (!json_is_integer(mcc) || json_integer_value(mcc) < 1 ||
                json_integer_value(mcc) > 200))
        problem(&p, "properties.realtimeConfiguration.maxConcurrentCalls must be 1 to 200");
    if (lname && rl_trace_level_parse(lname, &d.level, &perr))
        problem(&p, "properties.diagnostics.level must be None, Error or All");
    if (ptype && strcmp(ptype, "Graph") != 0)
        problem(&p, "properties.packageType must be \"Graph\"");
    if (json_object_get(props, "keys") && !json_is_null(json_object_get(props, "keys")))
        problem(&p, "properties.keys cannot be set through a definition; regenerate keys with "
                    ".../endpoints/NAME/regeneratekeys");
    const char *resource = NULL;
    d.experiment_json = package_experiment(json_object_get(props, "package"),
                                           json_object_get(props, "assets"), exp_name,
                                           &d.model_uri, &resource, &p);
    rl_experiment_opts eo = {"properties.package", NULL, 0};
    if (d.experiment_json && rl_experiment_parse_json(d.experiment_json, &eo, &d.experiment, &perr))
        problem(&p, "%s", perr.msg);
    if (d.experiment &&
        (rl_experiment_is_training(d.experiment) || rl_experiment_nresources(d.experiment) != 1))
        problem(&p, "the package must score with one trained-model Resource asset and no Train "
                    "Model");
    if (resource && resource_name && strcmp(resource, resource_name))
        problem(&p, "the trained-model asset must keep its name \"%s\" (got \"%s\")",
                resource_name, resource);
    d.problems = p.text;
    d.nproblems = p.n;
    if (p.n && !p.text.data) {
        rl_definition_fini(&d);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    *out = d;
    return RL_OK;
}

void rl_definition_fini(rl_definition *d)
{
    if (!d) return;
    json_decref(d->experiment_json);
    rl_experiment_free(d->experiment);
    rl_buf_fini(&d->problems);
    memset(d, 0, sizeof *d);
}

static enum MHD_Result import(rl_req *r, const rl_service *svc, rl_endpoint *def)
{
    rl_server *s = r->srv;
    enum MHD_Result reply;
    rl_error err;
    rl_error_clear(&err);
    rl_definition d = {0};
    json_t *body = rl_body_json(r, &reply);
    rl_model *m = NULL;
    char *exp_text = NULL;
    if (!body) return reply;
    json_t *props = json_object_get(body, "properties");
    if (!json_is_object(props)) {
        json_decref(body);
        return rl_reply_error(r, 400, "BadDefinition", "a definition is {\"properties\": {...}} "
                              "as GET .../definition answers it");
    }
    json_t *cur = json_loads(svc->experiment_json, 0, NULL);
    const char *exp_name = json_string_value(json_object_get(cur, "name"));
    int rc = rl_definition_parse(props, exp_name ? exp_name : svc->name,
                                 svc->model_resource_name, def->diagnostics_trace_level, &d, &err);
    json_decref(cur);
    if (rc) {
        reply = rl_reply_rl_error(r, &err, NULL);
        goto out;
    }
    const char *title = d.title, *model_uri = d.model_uri;
    const json_t *desc = d.description, *mcc = d.max_concurrent_calls;
    rl_trace_level lv = d.level;
    const rl_experiment *e = d.experiment;
    char internal[RL_BLOB_ADDRESS_MAX + 1] = "";
    int model_changes = 0;
    if (!d.nproblems && model_uri) {
        enum MHD_Result ignored;
        /* Location problems reply at once: they are about one field. */
        if (rl_location_resolve(r, svc->workspace_id, NULL, model_uri, internal, sizeof internal,
                                &ignored)) {
            reply = ignored;
            goto out;
        }
        model_changes = !def->model_blob || strcmp(internal, def->model_blob) != 0;
        /* The same bytes under another name are no change. */
        rl_blob_info bi;
        if (model_changes && def->model_sha256 &&
            rl_blob_stat(s->blobs, internal, &bi, NULL) == RL_OK &&
            !strcmp(bi.sha256, def->model_sha256))
            model_changes = 0;
    }
    if (d.nproblems) {
        reply = rl_reply_error(r, 400, "InvalidDefinition", "%d problem%s:\n%s", d.nproblems,
                               d.nproblems > 1 ? "s" : "", d.problems.data);
        goto out;
    }
    char sha[65];
    if (model_changes && (rc = rl_model_change_check(s, svc, "default", internal, &m, sha, &err))) {
        reply = rl_reply_rl_error(r, &err, rc == RL_ESCHEMA ? "IncompatibleSchema"
                                           : rc == RL_EFORMAT ? "InvalidModelFile"
                                                              : "BlobNotFound");
        goto out;
    }
    /* Everything checked: change the model, the service, the endpoint. */
    if (m) rc = rl_model_change_commit(s, svc, "default", internal, sha, m,
                                       RL_ACTION_DEFINITION_UPDATE, &err);
    json_t *canon = e ? rl_experiment_to_json(e) : NULL;
    exp_text = canon ? json_dumps(canon, JSON_COMPACT) : NULL;
    json_decref(canon);
    rl_service upd = *svc;
    upd.name = (char *)title;
    upd.description = (char *)(json_is_string(desc) ? json_string_value(desc) : "");
    upd.experiment_json = exp_text;
    if (!rc && !exp_text) rc = rl_error_set(&err, RL_ENOMEM, "out of memory");
    if (!rc) rc = rl_meta_service_update(s->meta, &upd, &err);
    rl_endpoint *now = NULL;
    if (!rc) {
        /* Read, change and publish the row under the lock, so that a key
         * regenerated meanwhile is neither written back over nor left out
         * of the registry. */
        pthread_mutex_lock(&s->model_change);
        rc = rl_meta_endpoint_get(s->meta, svc->id, "default", &now, &err);
        if (!rc) {
            if (mcc) now->max_concurrent_calls = (int)json_integer_value(mcc);
            now->diagnostics_trace_level = lv;
            rc = rl_meta_endpoint_update(s->meta, now, &err);
        }
        if (!rc) rc = rl_registry_put(s, &upd, now, &err);
        pthread_mutex_unlock(&s->model_change);
    }
    if (rc) {
        reply = rl_reply_rl_error(r, &err, NULL);
    } else {
        rl_model *served = NULL;
        rl_served *sv = rl_registry_find(s, svc->id, "default");
        if (sv) rl_served_model(s, sv, &served, &err);
        rl_served_release(s, sv);
        reply = rl_reply_json(r, 200, export(s, &upd, now, served));
        rl_model_unref(served);
    }
    rl_endpoint_free(now);
out:
    rl_definition_fini(&d);
    json_decref(body);
    rl_model_unref(m);
    free(exp_text);
    return reply;
}

enum MHD_Result rl_route_definition(rl_req *r, const rl_service *svc)
{
    rl_server *s = r->srv;
    rl_error err;
    if (svc->kind != RL_SERVICE_PREDICTIVE)
        return rl_reply_error(r, 400, "NotAPredictiveService", "definitions are for predictive "
                              "web services; this is a training service");
    rl_endpoint *def = NULL;
    if (rl_meta_endpoint_get(s->meta, svc->id, "default", &def, &err))
        return rl_reply_rl_error(r, &err, NULL);
    enum MHD_Result reply;
    if (!strcmp(r->method, "GET")) {
        rl_model *m = NULL;
        rl_served *sv = rl_registry_find(s, svc->id, "default");
        if (sv) rl_served_model(s, sv, &m, &err);
        rl_served_release(s, sv);
        reply = rl_reply_json(r, 200, export(s, svc, def, m));
        rl_model_unref(m);
    } else if (!strcmp(r->method, "PUT")) {
        reply = import(r, svc, def);
    } else {
        reply = rl_reply_error(r, 405, "MethodNotAllowed", "a definition takes GET or PUT");
    }
    rl_endpoint_free(def);
    return reply;
}
