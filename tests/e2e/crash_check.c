/* crash_check.c - checks a stopped relearnd's data directory after a crash.
 *
 * The crash tests (crash_harness.py) SIGKILL relearnd at random moments and,
 * while it is down, run `crash_check DATA_DIR` to ask the store itself
 * whether what the crash left is sound:
 *   - the metadata database: rl_meta_check (SQLite integrity_check and
 *     foreign_key_check);
 *   - every blob: rl_blob_check (each object's size and SHA-256 against its
 *     pointer);
 *   - the two stores together: every endpoint's and history entry's model
 *     blob exists with the SHA-256 the database recorded, and every output
 *     of a Finished job exists.
 * Opening the stores also runs their crash recovery (SQLite's WAL, the blob
 * store's removal of leftovers), exactly as relearnd's next start would.
 *
 * It prints "ok KEY N" lines with what it counted and one "problem: ..." line
 * per fault, and exits 0 when sound, 1 with problems, 2 when a store cannot
 * be opened at all. Built by the harness against the tree under test
 * (librelearn.a); not part of the library. Single-threaded; relearnd must
 * not be running (the blob store's lock would refuse the open anyway).
 */
#include "base/error.h"
#include "store/blob.h"
#include "store/meta.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef struct tally {
    size_t problems, endpoints, history, jobs_finished, outputs;
} tally;

static void problem(tally *t, const char *what, const char *detail)
{
    printf("problem: %s: %s\n", what, detail);
    t->problems++;
}

/* The blob at address exists and, when sha256 is given, has that digest. */
static void check_model_blob(rl_blob_store *blobs, const char *owner, const char *address,
                             const char *sha256, tally *t)
{
    rl_blob_info info;
    rl_error err;
    char what[1400];
    snprintf(what, sizeof what, "%s names model blob %s", owner, address);
    if (rl_blob_stat(blobs, address, &info, &err) != RL_OK) {
        problem(t, what, err.msg);
        return;
    }
    if (sha256 && strcmp(info.sha256, sha256) != 0) {
        char detail[200];
        snprintf(detail, sizeof detail, "recorded SHA-256 %s, the blob has %s", sha256,
                 info.sha256);
        problem(t, what, detail);
    }
}

/* Every output named by a Finished job's results exists. */
static void check_job(rl_blob_store *blobs, const rl_job *job, tally *t)
{
    char what[300];
    snprintf(what, sizeof what, "Finished job %s", job->id);
    if (job->status != RL_JOB_FINISHED) return;
    t->jobs_finished++;
    json_error_t je;
    json_t *res = job->results_json ? json_loads(job->results_json, 0, &je) : NULL;
    if (!json_is_object(res)) {
        problem(t, what, "has no results object");
        json_decref(res);
        return;
    }
    const char *name;
    json_t *v;
    json_object_foreach(res, name, v)
    {
        rl_blob_info info;
        rl_error err;
        if (!json_is_string(v)) {
            problem(t, what, "has a result that is not a blob address");
            continue;
        }
        t->outputs++;
        if (rl_blob_stat(blobs, json_string_value(v), &info, &err) != RL_OK)
            problem(t, what, err.msg);
    }
    json_decref(res);
}

static void check_service(rl_meta *meta, rl_blob_store *blobs, const rl_service *svc, tally *t)
{
    rl_endpoint *eps = NULL;
    rl_job *jobs = NULL;
    size_t neps = 0, njobs = 0;
    rl_error err;
    char owner[600];
    if (rl_meta_endpoint_list(meta, svc->id, &eps, &neps, &err) != RL_OK) {
        problem(t, "listing endpoints", err.msg);
        neps = 0;
    }
    for (size_t i = 0; i < neps; i++) {
        const rl_endpoint *ep = &eps[i];
        t->endpoints++;
        snprintf(owner, sizeof owner, "endpoint %s/%s", svc->id, ep->name);
        if (ep->model_blob) check_model_blob(blobs, owner, ep->model_blob, ep->model_sha256, t);
        rl_history_entry *h = NULL;
        size_t nh = 0;
        if (rl_meta_history_list(meta, svc->id, ep->name, &h, &nh, &err) != RL_OK) {
            problem(t, owner, err.msg);
            continue;
        }
        for (size_t k = 0; k < nh; k++) {
            t->history++;
            snprintf(owner, sizeof owner, "history %s/%s #%lld", svc->id, ep->name,
                     (long long)h[k].seq);
            if (k && h[k].seq != h[k - 1].seq + 1) problem(t, owner, "seq does not follow");
            if (h[k].model_blob)
                check_model_blob(blobs, owner, h[k].model_blob, h[k].model_sha256, t);
        }
        /* A model change and its history entry are one transaction: the last
         * entry names the model the endpoint has. */
        const char *last = nh ? h[nh - 1].model_blob : NULL;
        if (nh && (!last != !ep->model_blob || (last && strcmp(last, ep->model_blob) != 0))) {
            snprintf(owner, sizeof owner, "endpoint %s/%s", svc->id, ep->name);
            problem(t, owner, "its last history entry names another model");
        }
        rl_history_list_free(h, nh);
    }
    rl_endpoint_list_free(eps, neps);
    if (rl_meta_job_list(meta, svc->id, &jobs, &njobs, &err) != RL_OK) {
        problem(t, "listing jobs", err.msg);
        njobs = 0;
    }
    for (size_t i = 0; i < njobs; i++)
        check_job(blobs, &jobs[i], t);
    rl_job_list_free(jobs, njobs);
}

int main(int argc, char **argv)
{
    rl_meta *meta = NULL;
    rl_blob_store *blobs = NULL;
    rl_workspace *ws = NULL;
    size_t nws = 0, checked = 0;
    rl_error err;
    tally t = {0};
    char path[4096];
    int status = 2;
    if (argc != 2) {
        fprintf(stderr, "usage: crash_check DATA_DIR (of a stopped relearnd)\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/meta.db", argv[1]);
    if (rl_meta_open_sqlite(path, &meta, &err) != RL_OK) {
        printf("problem: opening %s: %s\n", path, err.msg);
        goto done;
    }
    snprintf(path, sizeof path, "%s/blobs", argv[1]);
    if (rl_blob_open_local(path, &blobs, &err) != RL_OK) {
        printf("problem: opening %s: %s\n", path, err.msg);
        goto done;
    }
    if (rl_meta_check(meta, &err) != RL_OK)
        problem(&t, "metadata database", err.msg);
    else
        printf("ok meta 1\n");
    if (rl_blob_check(blobs, &checked, &err) != RL_OK) problem(&t, "blob store", err.msg);
    printf("ok blobs %zu\n", checked);
    if (rl_meta_workspace_list(meta, &ws, &nws, &err) != RL_OK) {
        problem(&t, "listing workspaces", err.msg);
        nws = 0;
    }
    for (size_t i = 0; i < nws; i++) {
        rl_service *svcs = NULL;
        size_t ns = 0;
        if (rl_meta_service_list(meta, ws[i].id, &svcs, &ns, &err) != RL_OK) {
            problem(&t, "listing services", err.msg);
            continue;
        }
        for (size_t k = 0; k < ns; k++)
            check_service(meta, blobs, &svcs[k], &t);
        rl_service_list_free(svcs, ns);
    }
    rl_workspace_list_free(ws, nws);
    printf("ok endpoints %zu\nok history %zu\nok jobs_finished %zu\nok job_outputs %zu\n",
           t.endpoints, t.history, t.jobs_finished, t.outputs);
    status = t.problems ? 1 : 0;
done:
    rl_blob_close(blobs);
    rl_meta_close(meta);
    return status;
}
