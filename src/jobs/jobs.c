/* jobs.c - the batch (BES) worker pool: claims queued jobs and runs them.
 *
 * The idea: a job is a row of the metadata store; the store's compare-and-set
 * transitions (claim, finish, cancel, requeue) are the only synchronisation
 * between workers, the HTTP threads and even other processes. Each worker
 * waits on a condition variable (rl_jobs_wake) or at most a second (the poll
 * that picks up jobs queued before a restart), lists the runnable jobs, claims
 * the oldest it can and runs it:
 *
 *   service experiment (rl_meta_service_get) + the endpoint's model when the
 *   experiment needs one -> each input blob read as a table (by extension)
 *   -> rl_experiment_run (progress written to the store, throttled; a cancel
 *   or stop noticed between modules) -> every output checked and written to
 *   a temporary file of the blob store (tables as they are formatted) before
 *   the first is published -> each published atomically (rl_blob_commit_tmp)
 *   -> rl_meta_job_finish(Finished, results) or Failed with the reason.
 *
 * A worker owns one slot: the id of the job it runs and a cancel flag that
 * rl_jobs_cancel sets (the slot's id is published before the claim, so a
 * cancel racing with the claim is never lost). A run interrupted by
 * rl_jobs_stop is requeued with its attempt given back; a crash leaves it
 * Running for rl_meta_jobs_recover at the next start.
 *
 * Depends on store (meta, blob), experiment, model, data; used by http.
 * Ownership: the pool borrows meta and blobs. Thread safety: see jobs.h.
 */
#include "jobs/jobs.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "data/io.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 1000          /* the queue is looked at least this often */
#define PROGRESS_EVERY_S 0.25 /* progress is written at most this often */

/* Progress shares of a run: inputs read, modules run, outputs written. */
#define P_LOADED 0.05
#define P_RUN_END 0.90

typedef struct slot {
    struct rl_jobs *pool;
    pthread_t thread;
    int started;
    char id[RL_META_ID_MAX + 1]; /* the job claimed or being claimed; "" when idle */
    atomic_int cancel;           /* set by rl_jobs_cancel for that job */
} slot;

struct rl_jobs {
    rl_meta *meta;
    rl_blob_store *blobs;
    pthread_mutex_t lock; /* guards gen and every slot's id */
    pthread_cond_t cond;
    unsigned long gen; /* bumped by rl_jobs_wake */
    atomic_int stop;
    slot *slots;
    int nslots;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- outputs ---- */

const char *rl_jobs_default_ext(rl_value_kind kind)
{
    return kind == RL_VALUE_MODEL ? "ilearner" : "csv";
}

static int ext_is(const char *ext, const char *a, const char *b, const char *c)
{
    return !strcasecmp(ext, a) || (b && !strcasecmp(ext, b)) || (c && !strcasecmp(ext, c));
}

int rl_jobs_check_output(const char *name, rl_value_kind kind, const char *shown, rl_error *err)
{
    const char *ext = rl_path_ext(shown);
    switch (kind) {
    case RL_VALUE_TABLE:
        if (ext_is(ext, "csv", "tsv", "arff")) return RL_OK;
        return rl_error_set(err, RL_EINVAL,
                            "%s: a dataset must be written to a .csv, .tsv or "
                            ".arff blob, not %s",
                            name, shown);
    case RL_VALUE_MODEL:
        if (ext_is(ext, "ilearner", NULL, NULL)) return RL_OK;
        return rl_error_set(err, RL_EINVAL,
                            "%s: a trained model must be written to a "
                            ".ilearner blob, not %s",
                            name, shown);
    case RL_VALUE_EVALUATION:
        if (ext_is(ext, "csv", "json", NULL)) return RL_OK;
        return rl_error_set(err, RL_EINVAL,
                            "%s: evaluation results must be written to a .csv "
                            "or .json blob, not %s",
                            name, shown);
    }
    if (ext_is(ext, "csv", "tsv", "arff") || ext_is(ext, "json", "ilearner", NULL)) return RL_OK;
    return rl_error_set(err, RL_EINVAL,
                        "%s: outputs are written to .csv, .tsv or .arff "
                        "(datasets), .csv or .json (evaluations) or .ilearner (trained models) "
                        "blobs, not %s",
                        name, shown);
}

int rl_jobs_default_output(const char *ws, const char *job_id, const char *name, rl_value_kind kind,
                           char *out, size_t size, rl_error *err)
{
    char ext[RL_BLOB_ADDRESS_MAX + 1];
    int n = snprintf(ext, sizeof ext, "jobs/%s/%s.%s", job_id, name, rl_jobs_default_ext(kind));
    if (n < 0 || (size_t)n >= sizeof ext)
        return rl_error_set(err, RL_EINVAL, "output name '%s' is too long", name);
    return rl_blob_ws_address(ws, ext, out, size, err);
}

/* The client's name of an internal address (for messages). */
static void shown_address(const char *internal, char *out, size_t size)
{
    if (rl_blob_ws_external(internal, out, size, NULL, 0, NULL) != RL_OK)
        snprintf(out, size, "%s", internal);
}

/* ---- running one job ---- */

typedef struct run {
    rl_jobs *pool;
    slot *sl;
    const rl_job *job;
    double last_write; /* monotonic seconds of the last progress write */
} run;

/* Whether the run should stop: cancelled by the client, or the pool stops. */
static int run_cancelled(void *ctx)
{
    run *r = ctx;
    return atomic_load(&r->sl->cancel) || atomic_load(&r->pool->stop);
}

static void set_progress(run *r, double p, int force)
{
    double t = mono_s();
    if (!force && t - r->last_write < PROGRESS_EVERY_S) return;
    r->last_write = t;
    rl_error err;
    int rc = rl_meta_job_set_progress(r->pool->meta, r->job->id, p, &err);
    /* No longer Running: cancelled (perhaps by another process). */
    if (rc == RL_ESTATE) atomic_store(&r->sl->cancel, 1);
}

static void run_progress(void *ctx, double done)
{
    set_progress(ctx, P_LOADED + (P_RUN_END - P_LOADED) * done, 0);
}

/* The endpoint's trained model (for predictive experiments). */
static int load_model(run *r, rl_model **out, rl_error *err)
{
    rl_endpoint *ep = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = rl_meta_endpoint_get(r->pool->meta, r->job->service_id, r->job->endpoint, &ep, err);
    if (rc) {
        rl_error_wrap(err, "the job's endpoint '%s'", r->job->endpoint);
        goto done;
    }
    if (!ep->model_blob) {
        rc = rl_error_set(err, RL_ESTATE,
                          "endpoint '%s' has no trained model to score with; "
                          "bind one first",
                          ep->name);
        goto done;
    }
    rc = rl_blob_get(r->pool->blobs, ep->model_blob, 0, &data, &len, NULL, err);
    if (!rc) rc = rl_model_load(data, len, out, err);
    if (rc) rl_error_wrap(err, "the trained model of endpoint '%s'", ep->name);
done:
    rl_free(data);
    rl_endpoint_free(ep);
    return rc;
}

/* Reads input `name` from the blob at internal address addr. */
static int read_input(run *r, const char *name, const char *addr, rl_table **out, rl_error *err)
{
    char shown[RL_BLOB_ADDRESS_MAX + 1];
    shown_address(addr, shown, sizeof shown);
    rl_read_opts ro = {0};
    ro.format = rl_format_from_path(shown);
    ro.source = shown;
    if (ro.format == RL_FMT_AUTO)
        return rl_error_set(err, RL_EINVAL, "%s: %s is not a .csv, .tsv or .arff file", name,
                            shown);
    char *data = NULL;
    size_t len = 0;
    int rc = rl_blob_get(r->pool->blobs, addr, 0, &data, &len, NULL, err);
    if (rc == RL_ENOTFOUND) {
        rc = rl_error_set(err, rc,
                          "%s: blob %s does not exist (was it deleted after the job was "
                          "created?)",
                          name, shown);
    } else if (rc) {
        rl_error_wrap(err, "%s: reading %s", name, shown);
    } else if ((rc = rl_table_read_mem(data, len, &ro, out, err))) {
        rl_error_wrap(err, "%s", name);
    }
    rl_free(data);
    return rc;
}

static int to_fd(void *ctx, const char *data, size_t len, rl_error *err)
{
    if (rl_fd_write_all(*(int *)ctx, data, len) != 0)
        return rl_error_set(err, RL_EIO, "cannot write a temporary file of the blob store: %s",
                            strerror(errno));
    return RL_OK;
}

/* Writes one output, in the format its blob's extension names, into fd:
 * tables as they are formatted, a piece at a time. */
static int write_output(const rl_output *o, const char *shown, int fd, rl_error *err)
{
    const char *ext = rl_path_ext(shown);
    rl_buf b = RL_BUF_INIT;
    int rc;
    if (o->kind == RL_VALUE_MODEL) {
        if (!(rc = rl_model_save(o->model, &b, err))) rc = to_fd(&fd, b.data, b.len, err);
    } else if (o->kind == RL_VALUE_EVALUATION && !strcasecmp(ext, "json")) {
        char *text = json_dumps(o->evaluation, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        rc = text ? rl_buf_puts(&b, text) : RL_ENOMEM;
        if (!rc) rc = rl_buf_putc(&b, '\n');
        free(text);
        rc = rc ? rl_error_set(err, RL_ENOMEM, "out of memory writing %s", o->name)
                : to_fd(&fd, b.data, b.len, err);
    } else {
        rl_table *ev = NULL;
        const rl_table *t = o->table;
        rc = RL_OK;
        if (o->kind == RL_VALUE_EVALUATION &&
            !(rc = rl_evaluation_to_table(o->evaluation, &ev, err)))
            t = ev;
        if (!rc) rc = rl_table_write_to(to_fd, &fd, rl_format_from_path(shown), t, o->name, err);
        rl_table_free(ev);
    }
    rl_buf_fini(&b);
    return rc;
}

/* Runs job r->job. On success *results is its results_json (caller frees). */
static int run_job(run *r, char **results, rl_error *err)
{
    rl_jobs *pool = r->pool;
    const rl_job *job = r->job;
    rl_service *svc = NULL;
    rl_experiment *e = NULL;
    rl_model *model = NULL;
    rl_run_result *res = NULL;
    rl_binding *bind = NULL;
    rl_table **tables = NULL;
    char **tmps = NULL; /* each output's temporary file until published */
    char(*addrs)[RL_BLOB_ADDRESS_MAX + 1] = NULL;
    json_t *out_json = NULL;
    size_t nin = 0, nres = 0, nbind = 0;
    json_error_t je;
    int rc;

    json_t *req = json_loads(job->request_json, 0, &je);
    json_t *inputs = json_object_get(req, "Inputs"), *outputs = json_object_get(req, "Outputs");
    if (!json_is_object(inputs) || (outputs && !json_is_object(outputs))) {
        rc = rl_error_set(err, RL_EFORMAT, "the stored request of job %s is damaged (%s)", job->id,
                          req ? "no \"Inputs\" object" : je.text);
        goto done;
    }
    if ((rc = rl_meta_service_get(pool->meta, job->service_id, &svc, err))) goto done;
    rl_experiment_opts eo = {"service experiment", NULL, 0};
    if ((rc =
             rl_experiment_parse(svc->experiment_json, strlen(svc->experiment_json), &eo, &e, err)))
        goto done;
    nin = rl_experiment_ninputs(e);
    nres = rl_experiment_nresources(e);
    bind = rl_calloc(nin + nres + 1, sizeof *bind);
    tables = rl_calloc(nin + 1, sizeof *tables);
    if (!bind || !tables) goto oom;
    if (nres && (rc = load_model(r, &model, err))) goto done;
    for (size_t i = 0; i < nin; i++) {
        const char *name = rl_experiment_input(e, i);
        const char *addr = json_string_value(json_object_get(inputs, name));
        if (!addr) {
            rc = rl_error_set(err, RL_EINVAL,
                              "%s: the job names no blob for this input of the "
                              "web service",
                              name);
            goto done;
        }
        if (run_cancelled(r)) {
            rc = rl_error_set(err, RL_ECANCELED, "the run was cancelled");
            goto done;
        }
        if ((rc = read_input(r, name, addr, &tables[i], err))) goto done;
        bind[nbind++] = (rl_binding){name, tables[i], NULL};
    }
    for (size_t i = 0; i < nres; i++)
        bind[nbind++] = (rl_binding){rl_experiment_resource(e, i), NULL, model};
    set_progress(r, P_LOADED, 1);

    rl_run_opts ro = {bind, nbind, run_progress, run_cancelled, r};
    if ((rc = rl_experiment_run(e, &ro, &res, err))) goto done;
    if (atomic_load(&r->sl->cancel)) { /* cancelled during the last module: write nothing */
        rc = rl_error_set(err, RL_ECANCELED, "the run was cancelled");
        goto done;
    }

    /* Every output's place checked and its bytes in a temporary file of the
     * blob store before the first is published: a job that fails publishes
     * nothing. */
    tmps = rl_calloc(res->noutputs + 1, sizeof *tmps);
    addrs = rl_calloc(res->noutputs + 1, sizeof *addrs);
    if (!tmps || !addrs) goto oom;
    for (size_t i = 0; i < res->noutputs; i++) {
        const rl_output *o = &res->outputs[i];
        const char *addr = outputs ? json_string_value(json_object_get(outputs, o->name)) : NULL;
        if (addr)
            snprintf(addrs[i], sizeof addrs[i], "%s", addr);
        else if ((rc = rl_jobs_default_output(svc->workspace_id, job->id, o->name, o->kind,
                                              addrs[i], sizeof addrs[i], err)))
            goto done;
        char shown[RL_BLOB_ADDRESS_MAX + 1];
        shown_address(addrs[i], shown, sizeof shown);
        if ((rc = rl_jobs_check_output(o->name, o->kind, shown, err))) goto done;
        /* A served model's blob is never replaced under its endpoint. */
        int used = 0;
        if ((rc = rl_meta_blob_referenced(pool->meta, addrs[i], &used, err))) goto done;
        if (used) {
            rc = rl_error_set(err, RL_ESTATE,
                              "%s: %s holds a trained model that an endpoint "
                              "uses or used; write the output to another blob",
                              o->name, shown);
            goto done;
        }
        int fd = -1;
        if ((rc = rl_blob_tmp_open(pool->blobs, &fd, &tmps[i], err))) goto done;
        rc = write_output(o, shown, fd, err);
        if (close(fd) != 0 && !rc)
            rc = rl_error_set(err, RL_EIO, "cannot write a temporary file of the blob store: %s",
                              strerror(errno));
        if (rc) {
            rl_error_wrap(err, "%s: writing %s", o->name, shown);
            goto done;
        }
    }
    set_progress(r, P_RUN_END, 1);
    out_json = json_object();
    if (!out_json) goto oom;
    for (size_t i = 0; i < res->noutputs; i++) {
        if ((rc = rl_blob_commit_tmp(pool->blobs, tmps[i], addrs[i], NULL, err))) {
            char shown[RL_BLOB_ADDRESS_MAX + 1];
            shown_address(addrs[i], shown, sizeof shown);
            rl_error_wrap(err, "%s: writing %s", res->outputs[i].name, shown);
            goto done;
        }
        rl_free(tmps[i]);
        tmps[i] = NULL;
        if (json_object_set_new(out_json, res->outputs[i].name, json_string(addrs[i]))) goto oom;
    }
    *results = json_dumps(out_json, JSON_COMPACT);
    if (!*results) goto oom;
    rc = RL_OK;
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory running job %s", job->id);
done:
    for (size_t i = 0; tmps && res && i < res->noutputs; i++) {
        if (tmps[i]) rl_blob_tmp_discard(pool->blobs, tmps[i]);
        rl_free(tmps[i]);
    }
    rl_free(tmps);
    rl_free(addrs);
    for (size_t i = 0; tables && i < nin; i++)
        rl_table_free(tables[i]);
    rl_free(tables);
    rl_free(bind);
    rl_run_result_free(res);
    rl_model_unref(model);
    rl_experiment_free(e);
    rl_service_free(svc);
    json_decref(out_json);
    json_decref(req);
    return rc;
}

static void log_store_error(const char *what, const char *id, const rl_error *err)
{
    fprintf(stderr, "relearnd: job %s: cannot %s: %s\n", id, what, err->msg);
}

/* Deletes the outputs (results_json) of a job cancelled as it finished. */
static void discard_outputs(rl_jobs *pool, const char *results)
{
    json_t *res = json_loads(results, 0, NULL);
    const char *name;
    json_t *v;
    json_object_foreach(res, name, v)
    {
        if (json_is_string(v)) rl_blob_delete(pool->blobs, json_string_value(v), NULL);
    }
    json_decref(res);
}

/* Claims and runs one runnable job; 1 if one was run, 0 if none could be. */
static int run_next(rl_jobs *pool, slot *sl)
{
    rl_job *v = NULL;
    size_t n = 0;
    rl_error err;
    if (rl_meta_job_list_runnable(pool->meta, &v, &n, &err) != RL_OK) {
        log_store_error("list", "queue", &err);
        return 0;
    }
    int ran = 0;
    for (size_t i = 0; i < n && !ran && !atomic_load(&pool->stop); i++) {
        const rl_job *job = &v[i];
        /* Publish the id before claiming: a cancel from now on is seen. */
        pthread_mutex_lock(&pool->lock);
        snprintf(sl->id, sizeof sl->id, "%s", job->id);
        atomic_store(&sl->cancel, 0);
        pthread_mutex_unlock(&pool->lock);
        int claimed = rl_meta_job_claim(pool->meta, job->id, now_ms(), &err);
        if (claimed != RL_OK && claimed != RL_ESTATE) /* RL_ESTATE: another took it */
            log_store_error("claim it", job->id, &err);
        if (claimed == RL_OK) {
            ran = 1;
            run r = {pool, sl, job, 0};
            char *results = NULL;
            rl_error_clear(&err);
            int rc = run_job(&r, &results, &err);
            rl_error e2;
            if (rc == RL_OK) {
                rc = rl_meta_job_finish(pool->meta, job->id, RL_JOB_FINISHED, results, NULL,
                                        now_ms(), &e2);
                if (rc == RL_ESTATE) /* cancelled while its outputs were written */
                    discard_outputs(pool, results);
                else if (rc)
                    log_store_error("record its results", job->id, &e2);
            } else if (rc == RL_ECANCELED && !atomic_load(&sl->cancel)) {
                /* Stopped by rl_jobs_stop: run it again after the restart. */
                rc = rl_meta_job_requeue(pool->meta, job->id, &e2);
                if (rc == RL_OK)
                    fprintf(stderr,
                            "relearnd: job %s: interrupted by the stop; queued to run "
                            "again\n",
                            job->id);
                else if (rc != RL_ESTATE)
                    log_store_error("requeue it", job->id, &e2);
            } else if (rc != RL_ECANCELED) {
                /* RL_ESTATE: cancelled meanwhile, and the Cancelled status stays. */
                rc = rl_meta_job_finish(pool->meta, job->id, RL_JOB_FAILED, NULL, err.msg, now_ms(),
                                        &e2);
                if (rc && rc != RL_ESTATE) log_store_error("record its failure", job->id, &e2);
            }
            free(results);
        }
        pthread_mutex_lock(&pool->lock);
        sl->id[0] = '\0';
        pthread_mutex_unlock(&pool->lock);
    }
    rl_job_list_free(v, n);
    return ran;
}

static void *worker(void *arg)
{
    slot *sl = arg;
    rl_jobs *pool = sl->pool;
    unsigned long seen = ~0UL; /* look at the queue at once: jobs recovered or queued before */
    pthread_mutex_lock(&pool->lock);
    while (!atomic_load(&pool->stop)) {
        if (pool->gen == seen) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += POLL_MS / 1000;
            until.tv_nsec += (long)(POLL_MS % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&pool->cond, &pool->lock, &until);
            if (atomic_load(&pool->stop)) break;
        }
        seen = pool->gen;
        pthread_mutex_unlock(&pool->lock);
        while (!atomic_load(&pool->stop) && run_next(pool, sl)) {
        }
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* ---- the pool ---- */

int rl_jobs_start(rl_meta *meta, rl_blob_store *blobs, int workers, rl_jobs **out, rl_error *err)
{
    if (workers < 1) return rl_error_set(err, RL_EINVAL, "the job pool needs at least 1 worker");
    size_t requeued = 0, failed = 0;
    int rc = rl_meta_jobs_recover(meta, RL_JOBS_MAX_ATTEMPTS, now_ms(), &requeued, &failed, err);
    if (rc) return rl_error_wrap(err, "recovering interrupted jobs");
    if (requeued || failed)
        fprintf(stderr,
                "relearnd: %zu interrupted job(s) queued to run again, %zu failed "
                "after %d attempts\n",
                requeued, failed, RL_JOBS_MAX_ATTEMPTS);
    rl_jobs *j = rl_calloc(1, sizeof *j);
    if (!j) return rl_error_set(err, RL_ENOMEM, "out of memory");
    j->slots = rl_calloc((size_t)workers, sizeof *j->slots);
    if (!j->slots) {
        rl_free(j);
        return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    j->meta = meta;
    j->blobs = blobs;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&j->lock, NULL);
    atomic_init(&j->stop, 0);
    j->nslots = workers;
    for (int i = 0; i < workers; i++) {
        slot *sl = &j->slots[i];
        sl->pool = j;
        atomic_init(&sl->cancel, 0);
        if (pthread_create(&sl->thread, NULL, worker, sl) != 0) {
            rl_jobs_stop(j);
            return rl_error_set(err, RL_EINTERNAL, "cannot start job worker %d of %d", i + 1,
                                workers);
        }
        sl->started = 1;
    }
    *out = j;
    return RL_OK;
}

void rl_jobs_wake(rl_jobs *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->lock);
    j->gen++;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
}

void rl_jobs_cancel(rl_jobs *j, const char *id)
{
    if (!j || !id) return;
    pthread_mutex_lock(&j->lock);
    for (int i = 0; i < j->nslots; i++)
        if (!strcmp(j->slots[i].id, id)) atomic_store(&j->slots[i].cancel, 1);
    pthread_mutex_unlock(&j->lock);
}

void rl_jobs_stop(rl_jobs *j)
{
    if (!j) return;
    pthread_mutex_lock(&j->lock);
    atomic_store(&j->stop, 1);
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    for (int i = 0; i < j->nslots; i++)
        if (j->slots[i].started) pthread_join(j->slots[i].thread, NULL);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    rl_free(j->slots);
    rl_free(j);
}
