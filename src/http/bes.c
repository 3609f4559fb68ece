/* bes.c - batch execution (BES): {ApiLocation}/jobs... (docs/api.md, "Batch").
 *
 * Creating a job checks everything that can be checked before it runs: the
 * inputs are exactly the web service's, each a blob of the caller's
 * workspace in the built-in store that exists and has a data extension;
 * each output is one of the service's and its extension fits what the
 * experiment writes there (known from the graph: rl_experiment_output_kind).
 * The job row then holds every blob as an internal address (jobs/jobs.h), so
 * the workers never need to know the workspace. Starting queues the job and
 * wakes the workers (src/jobs); this file never runs a job. The body's
 * checks are rl_bes_job_parse (http/parse.h): pure but for the two questions
 * it asks the store through callbacks, so the fuzz harness runs them alone.
 *
 * Every route takes the endpoint's key. A job is its endpoint's: another
 * endpoint's or service's job id is answered 404 like an unknown one.
 * Thread safety: runs on libmicrohttpd's threads; the job rows' transitions
 * are compare-and-set in the store.
 */
#include "http/internal.h"
#include "http/parse.h"
#include "base/crypto.h"
#include "base/fs.h"
#include "base/mem.h"
#include "data/io.h"
#include "jobs/jobs.h"
#include "store/blob.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ADDR_SIZE (RL_BLOB_ADDRESS_MAX + 1)

/* ---- status ---- */

static json_t *time_or_null(int64_t ms)
{
    char t[32];
    if (!ms) return json_null();
    rl_iso_time(ms, t, sizeof t);
    return json_string(t);
}

/* The status object of docs/api.md, with a fresh read token per output. */
static json_t *status_json(rl_server *s, const rl_job *job)
{
    json_t *results = json_null();
    json_t *stored = job->results_json ? json_loads(job->results_json, 0, NULL) : NULL;
    if (json_is_object(stored)) {
        const char *name;
        json_t *v;
        results = json_object();
        json_object_foreach(stored, name, v)
        {
            if (json_is_string(v))
                json_object_set_new(results, name, rl_blob_location(s, json_string_value(v), 1));
        }
    }
    json_decref(stored);
    return json_pack("{s:s, s:s, s:f, s:o, s:o, s:o, s:o, s:o}", "Id", job->id, "StatusCode",
                     rl_job_status_name(job->status), "Progress", job->progress, "Results",
                     results ? results : json_null(), "Details",
                     job->details ? json_string(job->details) : json_null(), "CreatedAt",
                     time_or_null(job->created), "StartTime", time_or_null(job->started), "EndTime",
                     time_or_null(job->finished));
}

/* Job id of this endpoint, or a 404 reply. */
static rl_job *get_job(rl_req *r, rl_served *sv, const char *id, enum MHD_Result *reply)
{
    rl_job *job = NULL;
    rl_error err;
    int rc = rl_meta_job_get(r->srv->meta, id, &job, &err);
    if (rc == RL_OK &&
        (strcmp(job->service_id, sv->service_id) != 0 || strcmp(job->endpoint, sv->endpoint) != 0))
        rc = RL_ENOTFOUND;
    if (rc == RL_OK) return job;
    rl_job_free(job);
    if (rc == RL_ENOTFOUND || rc == RL_EINVAL)
        *reply = rl_reply_error(r, 404, "JobNotFound",
                                "this web service endpoint has no job "
                                "'%s'; GET .../jobs lists its jobs",
                                id);
    else
        *reply = rl_reply_rl_error(r, &err, NULL);
    return NULL;
}

/* ---- blob references ---- */

/* Whether text (n bytes) equals the store's base URL, with or without its
 * final slash. */
static int is_our_base(const char *public_url, const char *text, size_t n)
{
    char base[600];
    int bn = snprintf(base, sizeof base, "%s/storage", public_url);
    if (bn < 0 || (size_t)bn >= sizeof base) return 0;
    while (n && text[n - 1] == '/')
        n--;
    return n == (size_t)bn && strncasecmp(text, base, n) == 0;
}

int rl_bes_connection_ours(const char *public_url, const char *cs)
{
    const char *p = cs;
    int ours = 0;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t kn = (size_t)(eq - p), vn = n - kn - 1;
            if (kn == 21 && !strncasecmp(p, "UseDevelopmentStorage", kn))
                ours = vn == 4 && !strncasecmp(eq + 1, "true", 4);
            else if (kn == 12 && !strncasecmp(p, "BlobEndpoint", kn))
                ours = is_our_base(public_url, eq + 1, vn);
            if (ours) return 1;
        }
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

/* A refusal: the HTTP status and Studio detail code to answer, the message
 * in err. */
static int refuse(rl_bes_refusal *why, int status, const char *detail, rl_error *err,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int refuse(rl_bes_refusal *why, int status, const char *detail, rl_error *err,
                  const char *fmt, ...)
{
    char msg[RL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    why->status = status;
    why->detail = detail;
    return rl_error_set(err, status == 500 ? RL_ENOMEM : RL_EINVAL, "%s", msg);
}

/* Resolves the blob reference `ref` of input or output `name` in the
 * endpoint's workspace: external (the client's "container/path") and
 * internal addresses. Returns RL_EINVAL and fills why when it is refused. */
static int resolve_ref(const rl_bes_env *env, const char *name, const json_t *ref, char *external,
                       char *internal, rl_bes_refusal *why, rl_error *err)
{
    if (!json_is_object(ref))
        return refuse(why, 400, "InvalidBlobReference", err,
                      "%s must be a blob reference "
                      "such as {\"RelativeLocation\": \"container/path.csv\"}",
                      name);
    json_t *cs = json_object_get(ref, "ConnectionString");
    json_t *base = json_object_get(ref, "BaseLocation");
    json_t *rel = json_object_get(ref, "RelativeLocation");
    if (cs && !json_is_null(cs) &&
        (!json_is_string(cs) || (json_string_length(cs) &&
                                 !rl_bes_connection_ours(env->public_url, json_string_value(cs)))))
        return refuse(why, 400, "InvalidBlobConnectionString", err,
                      "%s: the ConnectionString "
                      "names another storage account; relearnd reads and writes only "
                      "its built-in store: leave it empty, or give "
                      "UseDevelopmentStorage=true or BlobEndpoint=%s/storage/",
                      name, env->public_url);
    if (base && !json_is_null(base) &&
        (!json_is_string(base) ||
         (json_string_length(base) &&
          !is_our_base(env->public_url, json_string_value(base), json_string_length(base)))))
        return refuse(why, 400, "InvalidBlobLocation", err,
                      "%s: BaseLocation must be this "
                      "daemon's store, %s/storage/ (or be left out)",
                      name, env->public_url);
    const char *path = json_string_value(rel);
    if (!path || !*path)
        return refuse(why, 400, "InvalidBlobReference", err,
                      "%s needs \"RelativeLocation\": "
                      "\"container/path\" (a blob of the built-in store)",
                      name);
    if (path[0] == '/') path++;
    rl_error e2;
    if (rl_blob_ws_address(env->workspace, path, internal, ADDR_SIZE, &e2))
        return refuse(why, 400, "InvalidBlobPath", err, "%s: %s", name, e2.msg);
    snprintf(external, ADDR_SIZE, "%s", path);
    return RL_OK;
}

/* ---- job bodies ---- */

int rl_bes_job_parse(const json_t *body, const rl_experiment *e, const rl_bes_env *env,
                     json_t **out, rl_bes_refusal *why, rl_error *err)
{
    char external[ADDR_SIZE], internal[ADDR_SIZE];
    int rc = RL_OK;
    why->status = 0;
    why->detail = NULL;
    json_t *stored = json_pack("{s:{}, s:{}, s:{}}", "Inputs", "Outputs", "GlobalParameters");
    if (!stored) goto oom;
    json_t *inputs = json_object_get(body, "Inputs");
    json_t *outputs = json_object_get(body, "Outputs");
    json_t *params = json_object_get(body, "GlobalParameters");
    const char *key;
    json_t *v;

    /* Inputs: exactly the web service's. */
    if (inputs && !json_is_null(inputs) && !json_is_object(inputs)) {
        rc = refuse(why, 400, "InvalidInputs", err,
                    "\"Inputs\" must be an object of input "
                    "name: blob reference");
        goto out;
    }
    json_object_foreach(inputs, key, v)
    {
        size_t i = 0;
        while (i < rl_experiment_ninputs(e) && strcmp(rl_experiment_input(e, i), key))
            i++;
        if (i == rl_experiment_ninputs(e)) {
            rc = refuse(why, 400, "UnknownInput", err,
                        "\"Inputs\" has \"%s\", which is not "
                        "an input of this web service (it has %s%s)",
                        key, rl_experiment_ninputs(e) ? rl_experiment_input(e, 0) : "none",
                        rl_experiment_ninputs(e) > 1 ? ", ..." : "");
            goto out;
        }
    }
    for (size_t i = 0; i < rl_experiment_ninputs(e); i++) {
        const char *name = rl_experiment_input(e, i);
        json_t *ref = json_object_get(inputs, name);
        if (!ref) {
            rc = refuse(why, 400, "MissingInput", err,
                        "\"Inputs\" lacks \"%s\", an input of "
                        "this web service: give {\"%s\": {\"RelativeLocation\": "
                        "\"container/path.csv\"}}",
                        name, name);
            goto out;
        }
        if ((rc = resolve_ref(env, name, ref, external, internal, why, err))) goto out;
        if (rl_format_from_path(external) == RL_FMT_AUTO) {
            rc = refuse(why, 400, "UnsupportedInputFormat", err,
                        "%s: '%s' is not a .csv, "
                        ".tsv or .arff blob",
                        name, external);
            goto out;
        }
        rc = env->stat(env->ctx, internal, err);
        if (rc == RL_ENOTFOUND) {
            rc = refuse(why, 400, "BlobNotFound", err,
                        "%s: there is no blob '%s' in "
                        "workspace '%s'; upload it first (PUT /storage/%s)",
                        name, external, env->workspace, external);
            goto out;
        }
        if (rc) goto out; /* answered by its code */
        if (json_object_set_new(json_object_get(stored, "Inputs"), name, json_string(internal)))
            goto oom;
    }

    /* Outputs: some of the web service's; the others go to their defaults. */
    if (outputs && !json_is_null(outputs) && !json_is_object(outputs)) {
        rc = refuse(why, 400, "InvalidOutputs", err,
                    "\"Outputs\" must be an object of "
                    "output name: blob reference");
        goto out;
    }
    json_object_foreach(outputs, key, v)
    {
        size_t i = 0;
        while (i < rl_experiment_noutputs(e) && strcmp(rl_experiment_output(e, i), key))
            i++;
        if (i == rl_experiment_noutputs(e)) {
            rc = refuse(why, 400, "UnknownOutput", err,
                        "\"Outputs\" has \"%s\", which is "
                        "not an output of this web service (it has %s%s)",
                        key, rl_experiment_noutputs(e) ? rl_experiment_output(e, 0) : "none",
                        rl_experiment_noutputs(e) > 1 ? ", ..." : "");
            goto out;
        }
    }
    json_t *stored_out = json_object_get(stored, "Outputs");
    for (size_t i = 0; i < rl_experiment_noutputs(e); i++) {
        const char *name = rl_experiment_output(e, i);
        rl_value_kind kind = rl_experiment_output_kind(e, name);
        json_t *ref = json_object_get(outputs, name);
        if (ref) {
            if ((rc = resolve_ref(env, name, ref, external, internal, why, err))) goto out;
            rl_error e2;
            if (rl_jobs_check_output(name, kind, external, &e2)) {
                rc = refuse(why, 400, "InvalidOutputExtension", err, "%s", e2.msg);
                goto out;
            }
            /* The worker checks again before writing; this is the early answer. */
            int used = 0;
            if ((rc = env->referenced(env->ctx, internal, &used, err))) goto out;
            if (used) {
                rc = refuse(why, 409, "BlobInUse", err,
                            "%s: '%s' is a trained model that an endpoint or its "
                            "history uses; write the output to another blob",
                            name, external);
                goto out;
            }
        } else if ((rc = rl_jobs_default_output(env->workspace, env->job_id, name, kind, internal,
                                                sizeof internal, err))) {
            goto out;
        }
        json_t *w;
        const char *other;
        json_object_foreach(stored_out, other, w)
        {
            if (!strcmp(json_string_value(w), internal)) {
                rc = refuse(why, 400, "DuplicateOutputLocation", err,
                            "%s and %s would both "
                            "be written to the same blob; give each its own",
                            other, name);
                goto out;
            }
        }
        if (json_object_set_new(stored_out, name, json_string(internal))) goto oom;
    }

    /* relearn's experiments declare no web service parameters. */
    if (params && !json_is_null(params) && !json_is_object(params)) {
        rc = refuse(why, 400, "InvalidGlobalParameters", err,
                    "\"GlobalParameters\" must be "
                    "an object (it may be empty)");
        goto out;
    }
    json_object_foreach(params, key, v)
    {
        rc = refuse(why, 400, "UnknownGlobalParameter", err,
                    "this web service has no "
                    "global parameter \"%s\"; send \"GlobalParameters\": {}",
                    key);
        goto out;
    }
    *out = stored;
    return RL_OK;
oom:
    rc = refuse(why, 500, "InternalError", err, "out of memory");
out:
    json_decref(stored);
    return rc;
}

/* ---- routes ---- */

static int stat_blob(void *ctx, const char *internal, rl_error *err)
{
    rl_blob_info info;
    return rl_blob_stat(((rl_server *)ctx)->blobs, internal, &info, err);
}

static int blob_referenced(void *ctx, const char *internal, int *used, rl_error *err)
{
    return rl_meta_blob_referenced(((rl_server *)ctx)->meta, internal, used, err);
}

static enum MHD_Result create_job(rl_req *r, rl_served *sv)
{
    rl_server *s = r->srv;
    enum MHD_Result reply;
    rl_error err;
    char id[33];
    char *text = NULL;
    json_t *stored = NULL;
    json_t *body = rl_body_json(r, &reply);
    if (!body) return reply;
    pthread_mutex_lock(&sv->lock);
    const rl_experiment *e = sv->experiment; /* immutable while sv lives */
    pthread_mutex_unlock(&sv->lock);
    if (rl_random_hex(16, id, sizeof id, &err)) {
        reply = rl_reply_rl_error(r, &err, NULL);
        goto out;
    }
    rl_bes_env env = {sv->workspace_id, s->public_url, id, stat_blob, blob_referenced, s};
    rl_bes_refusal why;
    if (rl_bes_job_parse(body, e, &env, &stored, &why, &err)) {
        reply = why.status ? rl_reply_error(r, why.status, why.detail, "%s", err.msg)
                           : rl_reply_rl_error(r, &err, NULL);
        goto out;
    }
    text = json_dumps(stored, JSON_COMPACT);
    if (!text) {
        reply = rl_reply_error(r, 500, "InternalError", "out of memory");
        goto out;
    }
    rl_job job = {0};
    job.id = id;
    job.service_id = sv->service_id;
    job.endpoint = sv->endpoint;
    job.request_json = text;
    job.created = rl_now_ms();
    if (rl_meta_job_create(s->meta, &job, &err)) {
        reply = rl_reply_rl_error(r, &err, NULL);
        goto out;
    }
    reply = rl_reply_json(r, 200, json_string(id));
out:
    free(text);
    json_decref(stored);
    json_decref(body);
    return reply;
}

static enum MHD_Result list_jobs(rl_req *r, rl_served *sv)
{
    rl_job *v = NULL;
    size_t n = 0;
    rl_error err;
    if (rl_meta_job_list(r->srv->meta, sv->service_id, &v, &n, &err))
        return rl_reply_rl_error(r, &err, NULL);
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (!strcmp(v[i].endpoint, sv->endpoint))
            json_array_append_new(a, status_json(r->srv, &v[i]));
    rl_job_list_free(v, n);
    return rl_reply_json(r, 200, a);
}

static enum MHD_Result start_job(rl_req *r, rl_job *job)
{
    rl_error err;
    if (rl_meta_job_start_request(r->srv->meta, job->id, &err))
        return rl_reply_rl_error(r, &err, err.code == RL_ESTATE ? "JobNotStartable" : NULL);
    rl_jobs_wake(r->srv->jobs);
    return rl_reply_empty(r, 204);
}

static enum MHD_Result cancel_job(rl_req *r, rl_job *job)
{
    rl_error err;
    /* The store first: the worker then finds the job Cancelled and leaves it. */
    if (rl_meta_job_cancel(r->srv->meta, job->id, "cancelled by the client", rl_now_ms(), &err))
        return rl_reply_rl_error(r, &err, err.code == RL_ESTATE ? "JobNotCancellable" : NULL);
    rl_jobs_cancel(r->srv->jobs, job->id);
    return rl_reply_empty(r, 204);
}

enum MHD_Result rl_route_jobs(rl_req *r, rl_served *sv)
{
    enum MHD_Result reply;
    if (rl_auth_endpoint(r, sv, &reply)) return reply;
    const char *m = r->method;
    if (r->nseg == 5) {
        if (!strcmp(m, "POST")) return create_job(r, sv);
        if (!strcmp(m, "GET")) return list_jobs(r, sv);
        return rl_reply_error(r, 405, "MethodNotAllowed",
                              "jobs takes POST (create) or GET "
                              "(list)");
    }
    int is_start = r->nseg == 7 && !strcmp(r->seg[6], "start");
    if (r->nseg != 6 && !is_start)
        return rl_reply_error(r, 404, "RouteNotFound", "no route %s %s", m, r->path);
    if (is_start ? strcmp(m, "POST") != 0 : strcmp(m, "GET") != 0 && strcmp(m, "DELETE") != 0)
        return rl_reply_error(r, 405, "MethodNotAllowed",
                              is_start ? "jobs/{id}/start takes POST"
                                       : "jobs/{id} takes GET (status) or "
                                         "DELETE (cancel)");
    rl_job *job = get_job(r, sv, r->seg[5], &reply);
    if (!job) return reply;
    if (is_start)
        reply = start_job(r, job);
    else if (!strcmp(m, "GET"))
        reply = rl_reply_json(r, 200, status_json(r->srv, job));
    else
        reply = cancel_job(r, job);
    rl_job_free(job);
    return reply;
}
