/* test_jobs.c - the batch worker pool (jobs/jobs.h) against real stores: a
 * training job that retrains (model bytes exactly rl_model_save's), a
 * predictive job that scores like rl_model_score, recovery of a job left
 * Running, failures with their reasons (missing blob, malformed CSV, an
 * output whose extension does not fit, a missing model), a job cancelled
 * before it runs, the output helpers, and out-of-memory at start. */
#include "base/buf.h"
#include "base/mem.h"
#include "data/census.h"
#include "data/io.h"
#include "experiment/experiment.h"
#include "jobs/jobs.h"
#include "model/model.h"
#include "store/blob.h"
#include "store/meta.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S(x) ((char *)(x))

static const char *HASH_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *HASH_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

typedef struct fixture {
    char dir[64];
    rl_meta *meta;
    rl_blob_store *blobs;
    rl_model *model; /* trained by the training service's experiment */
    char model_sha[65];
    rl_table *data; /* what data/WS/census.csv holds */
} fixture;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_table(fixture *f, const char *addr, const rl_table *t)
{
    rl_buf b = RL_BUF_INIT;
    rl_error err;
    assert_int_equal(rl_table_write_buf(&b, RL_FMT_CSV, t, NULL, &err), RL_OK);
    assert_int_equal(rl_blob_put(f->blobs, addr, b.data, b.len, NULL, &err), RL_OK);
    rl_buf_fini(&b);
}

static void put_text(fixture *f, const char *addr, const char *text)
{
    rl_error err;
    assert_int_equal(rl_blob_put(f->blobs, addr, text, strlen(text), NULL, &err), RL_OK);
}

static rl_endpoint endpoint(const char *service_id, const char *model_blob, const char *sha)
{
    rl_endpoint e = {S(service_id),
                     S("default"),
                     NULL,
                     1000,
                     S(HASH_A),
                     S(HASH_B),
                     S("nonce-1"),
                     S("nonce-2"),
                     RL_THROTTLE_HIGH,
                     20,
                     RL_TRACE_NONE,
                     S(model_blob),
                     S(sha),
                     1,
                     1};
    return e;
}

/* Workspace "ws"; training service "train" (the standard experiment,
 * logistic regression) and its predictive partner "pred" whose endpoint
 * serves a model trained here; data/ws/census.csv. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/rl_jobs_XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    char path[128];
    rl_error err;
    snprintf(path, sizeof path, "%s/meta.db", f->dir);
    assert_int_equal(rl_meta_open_sqlite(path, &f->meta, &err), RL_OK);
    snprintf(path, sizeof path, "%s/blobs", f->dir);
    assert_int_equal(rl_blob_open_local(path, &f->blobs, &err), RL_OK);
    rl_workspace w = {S("ws"), S(HASH_A), 1000};
    assert_int_equal(rl_meta_workspace_create(f->meta, &w, &err), RL_OK);

    json_t *ej = rl_experiment_standard("census", "income", &rl_two_class_logistic_regression, NULL,
                                        0.75, 1);
    rl_experiment *train = NULL, *pred = NULL;
    rl_experiment_opts eo = {"test", NULL, 0};
    assert_int_equal(rl_experiment_parse_json(ej, &eo, &train, &err), RL_OK);
    assert_int_equal(rl_experiment_to_predictive(train, &pred, &err), RL_OK);
    char *train_text = json_dumps(ej, JSON_COMPACT);
    json_t *pj = rl_experiment_to_json(pred);
    char *pred_text = json_dumps(pj, JSON_COMPACT);

    assert_int_equal(rl_census_generate(400, 3, 0, &f->data, &err), RL_OK);
    put_table(f, "data/ws/census.csv", f->data);
    rl_binding b = {"input1", f->data, NULL};
    rl_run_opts ro = {&b, 1, NULL, NULL, NULL};
    rl_run_result *res = NULL;
    assert_int_equal(rl_experiment_run(train, &ro, &res, &err), RL_OK);
    f->model = rl_model_ref(res->outputs[0].model);
    rl_run_result_free(res);
    rl_buf mb = RL_BUF_INIT;
    assert_int_equal(rl_model_save(f->model, &mb, &err), RL_OK);
    rl_blob_info info;
    assert_int_equal(rl_blob_put(f->blobs, "models/ws/m.ilearner", mb.data, mb.len, &info, &err),
                     RL_OK);
    snprintf(f->model_sha, sizeof f->model_sha, "%s", info.sha256);
    rl_buf_fini(&mb);

    rl_service ts = {
        S("train"), S("ws"), S("census [training]"), NULL, RL_SERVICE_TRAINING, train_text, NULL,
        NULL,       1000};
    rl_service ps = {S("pred"),
                     S("ws"),
                     S("census"),
                     NULL,
                     RL_SERVICE_PREDICTIVE,
                     pred_text,
                     S("census [trained model]"),
                     NULL,
                     1000};
    rl_endpoint te = endpoint("train", NULL, NULL);
    rl_endpoint pe = endpoint("pred", "models/ws/m.ilearner", f->model_sha);
    assert_int_equal(rl_meta_service_create(f->meta, &ts, &te, NULL, &err), RL_OK);
    assert_int_equal(rl_meta_service_create(f->meta, &ps, &pe, NULL, &err), RL_OK);
    free(train_text);
    free(pred_text);
    json_decref(pj);
    json_decref(ej);
    rl_experiment_free(train);
    rl_experiment_free(pred);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rl_mem_fail_reset();
    rl_model_unref(f->model);
    rl_table_free(f->data);
    rl_blob_close(f->blobs);
    rl_meta_close(f->meta);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Creates job id of service with this request; queued when start is set. */
static void create(fixture *f, const char *id, const char *service, const char *request, int start)
{
    rl_job j = {0};
    j.id = S(id);
    j.service_id = S(service);
    j.endpoint = S("default");
    j.request_json = S(request);
    j.start_requested = start;
    j.created = now_ms();
    rl_error err;
    assert_int_equal(rl_meta_job_create(f->meta, &j, &err), RL_OK);
}

/* Waits (at most 60 s) until job id leaves NotStarted and Running. */
static rl_job *wait_done(fixture *f, const char *id)
{
    for (int i = 0; i < 6000; i++) {
        rl_job *j = NULL;
        rl_error err;
        assert_int_equal(rl_meta_job_get(f->meta, id, &j, &err), RL_OK);
        if (j->status != RL_JOB_NOT_STARTED && j->status != RL_JOB_RUNNING) return j;
        rl_job_free(j);
        usleep(10 * 1000);
    }
    fail_msg("job %s did not end in 60 s", id);
    return NULL;
}

static void get_blob(fixture *f, const char *addr, char **data, size_t *len)
{
    rl_error err;
    int rc = rl_blob_get(f->blobs, addr, 0, data, len, NULL, &err);
    if (rc) fail_msg("%s: %s", addr, err.msg);
}

static int blob_exists(fixture *f, const char *addr)
{
    rl_blob_info info;
    return rl_blob_stat(f->blobs, addr, &info, NULL) == RL_OK;
}

/* ---- helpers ---- */

static void test_output_helpers(void **state)
{
    (void)state;
    rl_error err;
    assert_string_equal(rl_jobs_default_ext(RL_VALUE_MODEL), "ilearner");
    assert_string_equal(rl_jobs_default_ext(RL_VALUE_TABLE), "csv");
    assert_string_equal(rl_jobs_default_ext(RL_VALUE_EVALUATION), "csv");
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_MODEL, "r/m.ILEARNER", &err), RL_OK);
    assert_int_equal(rl_jobs_check_output("output1", RL_VALUE_MODEL, "results/out.csv", &err),
                     RL_EINVAL);
    assert_string_equal(err.msg, "output1: a trained model must be written to a .ilearner blob, "
                                 "not results/out.csv");
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_TABLE, "r/x.tsv", &err), RL_OK);
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_TABLE, "r/x.arff", &err), RL_OK);
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_TABLE, "r/x.json", &err), RL_EINVAL);
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_TABLE, "r/x", &err), RL_EINVAL);
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_EVALUATION, "r/e.json", &err), RL_OK);
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_EVALUATION, "r/e.tsv", &err), RL_EINVAL);
    assert_int_equal(rl_jobs_check_output("o", 0, "r/e.ilearner", &err), RL_OK);
    assert_int_equal(rl_jobs_check_output("o", 0, "r/e.txt", &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "r/e.txt"));
    /* A directory named like a file does not count as the extension. */
    assert_int_equal(rl_jobs_check_output("o", RL_VALUE_TABLE, "r/x.csv/data", &err), RL_EINVAL);

    char out[RL_BLOB_ADDRESS_MAX + 1];
    assert_int_equal(
        rl_jobs_default_output("ws", "j1", "output1", RL_VALUE_MODEL, out, sizeof out, &err),
        RL_OK);
    assert_string_equal(out, "jobs/ws/j1/output1.ilearner");
    assert_int_equal(
        rl_jobs_default_output("ws", "j1", "output2", RL_VALUE_EVALUATION, out, sizeof out, &err),
        RL_OK);
    assert_string_equal(out, "jobs/ws/j1/output2.csv");
    assert_int_equal(
        rl_jobs_default_output("ws", "../x", "o", RL_VALUE_TABLE, out, sizeof out, &err),
        RL_EINVAL);
    char longname[2000];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(
        rl_jobs_default_output("ws", "j1", longname, RL_VALUE_TABLE, out, sizeof out, &err),
        RL_EINVAL);
}

static void test_output_kind(void **state)
{
    (void)state;
    rl_error err;
    json_t *ej = rl_experiment_standard("census", "income", &rl_two_class_logistic_regression, NULL,
                                        0.75, 1);
    rl_experiment *e = NULL, *p = NULL;
    rl_experiment_opts eo = {"test", NULL, 0};
    assert_int_equal(rl_experiment_parse_json(ej, &eo, &e, &err), RL_OK);
    assert_int_equal(rl_experiment_output_kind(e, "output1"), RL_VALUE_MODEL);
    assert_int_equal(rl_experiment_output_kind(e, "output2"), RL_VALUE_EVALUATION);
    assert_int_equal(rl_experiment_output_kind(e, "output3"), 0);
    assert_int_equal(rl_experiment_to_predictive(e, &p, &err), RL_OK);
    assert_int_equal(rl_experiment_output_kind(p, "output1"), RL_VALUE_TABLE);
    rl_experiment_free(p);
    rl_experiment_free(e);
    json_decref(ej);
}

/* ---- runs ---- */

static void test_retrain_job(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_jobs *pool = NULL;
    create(f, "j1", "train",
           "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"},"
           "\"Outputs\":{\"output1\":\"results/ws/m.ilearner\",\"output2\":\"results/ws/e.json\"},"
           "\"GlobalParameters\":{}}",
           1);
    /* Only output1 given: output2 goes to its default place. */
    create(f, "j2", "train",
           "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"},"
           "\"Outputs\":{\"output1\":\"results/ws/m2.ilearner\"},\"GlobalParameters\":{}}",
           1);
    assert_int_equal(rl_jobs_start(f->meta, f->blobs, 2, &pool, &err), RL_OK);
    rl_jobs_wake(pool);
    rl_job *j = wait_done(f, "j1");
    assert_int_equal(j->status, RL_JOB_FINISHED);
    assert_null(j->details);
    assert_true(j->progress == 1.0);
    assert_int_equal(j->attempts, 1);
    assert_true(j->started > 0 && j->finished >= j->started);
    json_t *res = json_loads(j->results_json, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(res, "output1")),
                        "results/ws/m.ilearner");
    assert_string_equal(json_string_value(json_object_get(res, "output2")), "results/ws/e.json");
    json_decref(res);
    rl_job_free(j);

    /* The blob is exactly rl_model_save's bytes of the model it holds; the
     * same experiment on the same data gives the publish model's bytes up to
     * the training time, so compare by reloading and saving again. */
    char *data = NULL;
    size_t len = 0;
    get_blob(f, "results/ws/m.ilearner", &data, &len);
    rl_model *m = NULL;
    assert_int_equal(rl_model_load(data, len, &m, &err), RL_OK);
    rl_buf again = RL_BUF_INIT;
    assert_int_equal(rl_model_save(m, &again, &err), RL_OK);
    assert_int_equal(again.len, len);
    assert_memory_equal(again.data, data, len);
    rl_buf_fini(&again);
    /* It scores like the model trained directly. */
    rl_table *s1 = NULL, *s2 = NULL;
    assert_int_equal(rl_model_score(m, f->data, 0, &s1, &err), RL_OK);
    assert_int_equal(rl_model_score(f->model, f->data, 0, &s2, &err), RL_OK);
    rl_buf b1 = RL_BUF_INIT, b2 = RL_BUF_INIT;
    assert_int_equal(rl_table_write_buf(&b1, RL_FMT_CSV, s1, NULL, &err), RL_OK);
    assert_int_equal(rl_table_write_buf(&b2, RL_FMT_CSV, s2, NULL, &err), RL_OK);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    rl_buf_fini(&b1);
    rl_buf_fini(&b2);
    rl_table_free(s1);
    rl_table_free(s2);
    rl_model_unref(m);
    rl_free(data);

    get_blob(f, "results/ws/e.json", &data, &len);
    json_t *ev = json_loadb(data, len, 0, NULL);
    assert_non_null(ev);
    assert_true(json_number_value(json_object_get(ev, "AUC")) > 0.5);
    json_decref(ev);
    rl_free(data);

    j = wait_done(f, "j2");
    assert_int_equal(j->status, RL_JOB_FINISHED);
    rl_job_free(j);
    get_blob(f, "jobs/ws/j2/output2.csv", &data, &len);
    assert_non_null(strstr(data, "AUC"));
    assert_non_null(memchr(data, '\n', len));
    rl_free(data);
    rl_jobs_stop(pool);
}

static void test_predictive_job_and_recovery(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_jobs *pool = NULL;
    /* A job a crash left Running: recovered at start and run again. */
    create(f, "p1", "pred",
           "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"},"
           "\"Outputs\":{\"output1\":\"results/ws/scored.tsv\"},\"GlobalParameters\":{}}",
           1);
    assert_int_equal(rl_meta_job_claim(f->meta, "p1", now_ms(), &err), RL_OK);
    /* Created but never started: stays NotStarted. */
    create(f, "p2", "pred", "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"}}", 0);
    assert_int_equal(rl_jobs_start(f->meta, f->blobs, 1, &pool, &err), RL_OK);
    rl_job *j = wait_done(f, "p1");
    assert_int_equal(j->status, RL_JOB_FINISHED);
    assert_int_equal(j->attempts, 2);
    rl_job_free(j);
    char *data = NULL;
    size_t len = 0;
    get_blob(f, "results/ws/scored.tsv", &data, &len);
    rl_table *want = NULL;
    assert_int_equal(rl_model_score(f->model, f->data, 0, &want, &err), RL_OK);
    rl_buf b = RL_BUF_INIT;
    assert_int_equal(rl_table_write_buf(&b, RL_FMT_TSV, want, NULL, &err), RL_OK);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, data, len);
    rl_buf_fini(&b);
    rl_table_free(want);
    rl_free(data);

    usleep(1200 * 1000); /* a poll passes */
    assert_int_equal(rl_meta_job_get(f->meta, "p2", &j, &err), RL_OK);
    assert_int_equal(j->status, RL_JOB_NOT_STARTED);
    rl_job_free(j);
    /* Started now: the wake-up (or the poll) runs it, to the default place. */
    assert_int_equal(rl_meta_job_start_request(f->meta, "p2", &err), RL_OK);
    rl_jobs_wake(pool);
    j = wait_done(f, "p2");
    assert_int_equal(j->status, RL_JOB_FINISHED);
    assert_non_null(strstr(j->results_json, "jobs/ws/p2/output1.csv"));
    rl_job_free(j);
    assert_true(blob_exists(f, "jobs/ws/p2/output1.csv"));
    rl_jobs_stop(pool);
}

static void expect_failure(fixture *f, const char *id, const char *needle)
{
    rl_job *j = wait_done(f, id);
    assert_int_equal(j->status, RL_JOB_FAILED);
    assert_null(j->results_json);
    assert_non_null(j->details);
    if (!strstr(j->details, needle)) fail_msg("job %s: '%s' lacks '%s'", id, j->details, needle);
    rl_job_free(j);
}

static void test_failures(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_jobs *pool = NULL;
    put_text(f, "data/ws/ragged.csv", "age,income\n30,<=50K\n40,>50K,extra\n");
    create(f, "missing", "pred", "{\"Inputs\":{\"input1\":\"data/ws/none.csv\"}}", 1);
    create(f, "ragged", "pred", "{\"Inputs\":{\"input1\":\"data/ws/ragged.csv\"}}", 1);
    create(f, "noinput", "pred", "{\"Inputs\":{}}", 1);
    create(f, "damaged", "pred", "{\"Inputs\":", 1);
    create(f, "txt", "pred", "{\"Inputs\":{\"input1\":\"data/ws/census.txt\"}}", 1);
    /* A model to .csv: found when it is written; output2 is not written either. */
    create(f, "badext", "train",
           "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"},"
           "\"Outputs\":{\"output1\":\"results/ws/m.csv\",\"output2\":\"results/ws/bad-e.json\"}}",
           1);
    /* The endpoint's model blob is never overwritten by a job. */
    create(f, "inuse", "train",
           "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"},"
           "\"Outputs\":{\"output1\":\"models/ws/m.ilearner\"}}",
           1);
    /* Columns the model needs are missing. */
    put_text(f, "data/ws/other.csv", "x,y\n1,2\n3,4\n");
    create(f, "schema", "pred", "{\"Inputs\":{\"input1\":\"data/ws/other.csv\"}}", 1);
    /* Training data without the label. */
    create(f, "nolabel", "train", "{\"Inputs\":{\"input1\":\"data/ws/other.csv\"}}", 1);
    assert_int_equal(rl_jobs_start(f->meta, f->blobs, 2, &pool, &err), RL_OK);
    rl_jobs_wake(pool);
    expect_failure(f, "missing", "input1: blob data/none.csv does not exist");
    expect_failure(f, "ragged", "input1: data/ragged.csv:3:");
    expect_failure(f, "noinput", "input1: the job names no blob");
    expect_failure(f, "damaged", "damaged");
    expect_failure(f, "txt", "input1: data/census.txt is not a .csv, .tsv or .arff file");
    expect_failure(f, "badext",
                   "output1: a trained model must be written to a .ilearner blob, "
                   "not results/m.csv");
    assert_false(blob_exists(f, "results/ws/m.csv"));
    assert_false(blob_exists(f, "results/ws/bad-e.json"));
    expect_failure(f, "inuse",
                   "output1: models/m.ilearner holds a trained model that an "
                   "endpoint uses");
    rl_blob_info info;
    assert_int_equal(rl_blob_stat(f->blobs, "models/ws/m.ilearner", &info, &err), RL_OK);
    assert_string_equal(info.sha256, f->model_sha);
    expect_failure(f, "schema", "age");
    expect_failure(f, "nolabel", "income");

    /* The endpoint loses its model: scoring jobs fail saying so. */
    rl_history_entry h = {0};
    h.time = now_ms();
    h.credential = S("test");
    h.action = RL_ACTION_UPDATE_RESOURCE;
    assert_int_equal(
        rl_meta_endpoint_set_model(f->meta, "pred", "default", NULL, NULL, &h, -1, NULL, &err),
        RL_OK);
    create(f, "nomodel", "pred", "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"}}", 1);
    rl_jobs_wake(pool);
    expect_failure(f, "nomodel", "has no trained model");
    rl_jobs_stop(pool);
}

static void test_cancelled_before_running(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_jobs *pool = NULL;
    create(f, "c1", "pred", "{\"Inputs\":{\"input1\":\"data/ws/census.csv\"}}", 1);
    assert_int_equal(rl_meta_job_cancel(f->meta, "c1", "by the test", now_ms(), &err), RL_OK);
    assert_int_equal(rl_jobs_start(f->meta, f->blobs, 1, &pool, &err), RL_OK);
    rl_jobs_cancel(pool, "c1"); /* not running: nothing to do */
    rl_jobs_cancel(pool, NULL);
    rl_jobs_cancel(NULL, "c1");
    rl_jobs_wake(NULL);
    usleep(1200 * 1000);
    rl_job *j = NULL;
    assert_int_equal(rl_meta_job_get(f->meta, "c1", &j, &err), RL_OK);
    assert_int_equal(j->status, RL_JOB_CANCELLED);
    assert_int_equal(j->attempts, 0);
    assert_string_equal(j->details, "by the test");
    rl_job_free(j);
    assert_false(blob_exists(f, "jobs/ws/c1/output1.csv"));
    rl_jobs_stop(pool);
    rl_jobs_stop(NULL);
}

static void test_start_errors(void **state)
{
    fixture *f = *state;
    rl_error err;
    rl_jobs *pool = NULL;
    assert_int_equal(rl_jobs_start(f->meta, f->blobs, 0, &pool, &err), RL_EINVAL);
    assert_null(pool);
    /* Out of memory at any allocation of the start: an error, nothing leaked
     * (ASan checks), and a later start works. */
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        rl_mem_fail_after(n);
        int rc = rl_jobs_start(f->meta, f->blobs, 2, &pool, &err);
        rl_mem_fail_reset();
        if (rc == RL_OK) {
            ok = 1;
            rl_jobs_stop(pool);
        } else {
            assert_int_equal(rc, RL_ENOMEM);
        }
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_helpers),
        cmocka_unit_test(test_output_kind),
        cmocka_unit_test_setup_teardown(test_retrain_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predictive_job_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_before_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
