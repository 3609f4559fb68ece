/* test_learners.c - every learner kind: registry, parameters, training on
 * synthetic data, save/load bit-identity, damaged payloads, concurrency and
 * out-of-memory paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/mem.h"
#include "base/rng.h"
#include "learners/common.h"
#include "learners/learner.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- data ---- */

typedef struct dataset {
    rl_matrix x;
    double *y;
    int nclass;
} dataset;

#define NFEAT 4

/* n rows of NFEAT standard normal features (a few missing when holes) and a
 * target that is a function of them: a linear boundary for two classes, the
 * argmax of three linear scores for multiclass, an exact linear function for
 * regression. */
static void make_data(rl_task task, size_t n, uint64_t seed, int holes, dataset *d)
{
    rl_rng r;
    rl_rng_seed(&r, seed);
    d->x.rows = n;
    d->x.cols = NFEAT;
    d->x.data = malloc(n * NFEAT * sizeof(double));
    d->y = malloc(n * sizeof(double));
    assert_non_null(d->x.data);
    assert_non_null(d->y);
    d->nclass = task == RL_TASK_MULTICLASS ? 3 : task == RL_TASK_BINARY ? 2 : 0;
    for (size_t i = 0; i < n; i++) {
        double *x = d->x.data + i * NFEAT;
        for (int j = 0; j < NFEAT; j++)
            x[j] = rl_rng_normal(&r);
        if (task == RL_TASK_BINARY) {
            d->y[i] = x[0] - 2 * x[1] + 0.5 * x[2] + 1.5 * x[3] + 0.3 > 0;
        } else if (task == RL_TASK_MULTICLASS) {
            double s[3] = {2 * x[0], 2 * x[1], -x[0] - x[1] + x[2]};
            int best = 0;
            for (int c = 1; c < 3; c++)
                if (s[c] > s[best]) best = c;
            d->y[i] = best;
        } else {
            d->y[i] = 2 + 3 * x[0] - 1.5 * x[1] + 0.5 * x[2];
        }
        /* Missing values after the target is set: only XGBoost sees them as
         * missing, and they are rare enough not to spoil the others. */
        if (holes && rl_rng_below(&r, 100) < 2) x[rl_rng_below(&r, NFEAT)] = NAN;
    }
}

static void free_data(dataset *d)
{
    free(d->x.data);
    free(d->y);
}

/* Accuracy (classification) or R^2 (regression) of predictions p on d. */
static double quality(const rl_learner_kind *k, const dataset *d, const double *p)
{
    size_t n = d->x.rows;
    if (k->task == RL_TASK_REGRESSION) {
        double mean = 0, ss = 0, res = 0;
        for (size_t i = 0; i < n; i++)
            mean += d->y[i] / (double)n;
        for (size_t i = 0; i < n; i++) {
            ss += (d->y[i] - mean) * (d->y[i] - mean);
            res += (d->y[i] - p[i]) * (d->y[i] - p[i]);
        }
        return 1 - res / ss;
    }
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        int pred;
        if (k->task == RL_TASK_BINARY) {
            pred = p[i] > 0.5;
        } else {
            pred = 0;
            for (int c = 1; c < d->nclass; c++)
                if (p[i * d->nclass + c] > p[i * d->nclass + pred]) pred = c;
        }
        ok += pred == (int)d->y[i];
    }
    return (double)ok / (double)n;
}

/* Makes k's tree models small (fast to train, short payloads). */
static void small_params(const rl_learner_kind *k, rl_params *p)
{
    rl_params_default(k, p);
    rl_params_set(k, p, "number-of-trees-constructed", "3", NULL);
    rl_params_set(k, p, "maximum-number-of-leaves-per-tree", "4", NULL);
    rl_params_set(k, p, "number-of-decision-trees", "2", NULL);
    rl_params_set(k, p, "maximum-depth-of-the-decision-trees", "3", NULL);
}

static void *train_ok(const rl_learner_kind *k, const rl_params *p, const dataset *d)
{
    rl_error err;
    void *st = NULL;
    int rc = k->train(p, &d->x, d->y, d->nclass, &st, &err);
    if (rc) fail_msg("%s: %s", k->name, err.msg);
    assert_non_null(st);
    return st;
}

static double *predict_ok(const rl_learner_kind *k, const void *st, const rl_matrix *x, int nclass)
{
    rl_error err;
    size_t nout = rl_learner_nout(k, nclass);
    double *out = malloc((x->rows ? x->rows : 1) * nout * sizeof *out);
    assert_non_null(out);
    int rc = k->predict(st, x, out, &err);
    if (rc) fail_msg("%s: %s", k->name, err.msg);
    return out;
}

static void save_ok(const rl_learner_kind *k, const void *st, rl_buf *b)
{
    rl_error err;
    int rc = k->save(st, b, &err);
    if (rc) fail_msg("%s: %s", k->name, err.msg);
}

/* ---- registry ---- */

static void test_registry(void **unused)
{
    (void)unused;
    const rl_learner_kind *const *all = rl_learner_all();
    size_t n = 0;
    for (; all[n]; n++) {
        const rl_learner_kind *k = all[n];
        assert_ptr_equal(rl_learner_find(k->name), k);
        assert_ptr_equal(rl_learner_find(k->studio_name), k);
        assert_true(k->nparams <= RL_MAX_PARAMS);
        for (size_t j = 0; j < n; j++)
            assert_string_not_equal(all[j]->name, k->name);
        for (size_t i = 0; i < k->nparams; i++) {
            const rl_param_spec *s = &k->params[i];
            assert_true(s->def >= s->min && s->def <= s->max);
        }
    }
    assert_int_equal(n, 9);
    assert_ptr_equal(rl_learner_find("TWO-CLASS BOOSTED decision_tree"),
                     &rl_two_class_boosted_decision_tree);
    assert_ptr_equal(rl_learner_find("Linear Regression"), &rl_linear_regression);
    assert_null(rl_learner_find("linear-regressio"));
    assert_null(rl_learner_find("linear-regressionx"));
    assert_null(rl_learner_find(""));
    assert_null(rl_learner_find(NULL));
    assert_int_equal(rl_learner_nout(&rl_multiclass_decision_forest, 5), 5);
    assert_int_equal(rl_learner_nout(&rl_two_class_decision_forest, 2), 1);
    assert_int_equal(rl_learner_nout(&rl_linear_regression, 0), 1);
}

/* ---- parameters ---- */

static long param_index(const rl_learner_kind *k, const char *name)
{
    for (size_t i = 0; i < k->nparams; i++)
        if (strcmp(k->params[i].name, name) == 0) return (long)i;
    return -1;
}

static void test_params_text(void **unused)
{
    (void)unused;
    const rl_learner_kind *k = &rl_two_class_boosted_decision_tree;
    rl_params p, before;
    rl_error err;
    rl_params_default(k, &p);
    long rate = param_index(k, "learning-rate"),
         trees = param_index(k, "number-of-trees-constructed");
    assert_true(rate >= 0 && trees >= 0);
    assert_true(p.v[rate] == 0.2);
    assert_true(p.v[trees] == 100);

    assert_int_equal(rl_params_set(k, &p, "learning-rate", " 0.5 ", &err), RL_OK);
    assert_true(p.v[rate] == 0.5);
    assert_int_equal(rl_params_set(k, &p, "Number of trees constructed", "250", &err), RL_OK);
    assert_true(p.v[trees] == 250);

    before = p;
    assert_int_equal(rl_params_set(k, &p, "learning-rates", "0.1", &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "learning-rates"));
    assert_non_null(strstr(err.msg, "valid parameters"));
    assert_non_null(strstr(err.msg, "number-of-trees-constructed"));
    assert_int_equal(rl_params_set(k, &p, "learning-rate", "2", &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "between"));
    assert_int_equal(rl_params_set(k, &p, "learning-rate", "0.1x", &err), RL_EINVAL);
    assert_int_equal(rl_params_set(k, &p, "learning-rate", "", &err), RL_EINVAL);
    assert_int_equal(rl_params_set(k, &p, "learning-rate", "nan", &err), RL_EINVAL);
    assert_int_equal(rl_params_set(k, &p, "learning-rate", "inf", &err), RL_EINVAL);
    assert_int_equal(rl_params_set(k, &p, "learning-rate", "1e999", &err), RL_EINVAL);
    assert_int_equal(rl_params_set(k, &p, "number-of-trees-constructed", "2.5", &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "whole number"));
    assert_int_equal(rl_params_set(k, &p, "number-of-trees-constructed", "0", &err), RL_EINVAL);
    char longtext[300];
    memset(longtext, '1', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    assert_int_equal(rl_params_set(k, &p, "number-of-trees-constructed", longtext, &err),
                     RL_EINVAL);
    assert_memory_equal(&p, &before, sizeof p);

    /* Booleans and enums. */
    const rl_learner_kind *lr = &rl_two_class_logistic_regression;
    long icpt = param_index(lr, "include-intercept");
    rl_params_default(lr, &p);
    assert_true(p.v[icpt] == 1);
    assert_int_equal(rl_params_set(lr, &p, "include-intercept", "FALSE", &err), RL_OK);
    assert_true(p.v[icpt] == 0);
    assert_int_equal(rl_params_set(lr, &p, "include-intercept", "yes", &err), RL_OK);
    assert_true(p.v[icpt] == 1);
    assert_int_equal(rl_params_set(lr, &p, "include-intercept", "maybe", &err), RL_EINVAL);

    const rl_learner_kind *df = &rl_two_class_decision_forest;
    long rs = param_index(df, "resampling-method");
    rl_params_default(df, &p);
    assert_string_equal(rl_params_choice(df, &p, (size_t)rs), "bagging");
    assert_int_equal(rl_params_set(df, &p, "resampling-method", "Replicate", &err), RL_OK);
    assert_string_equal(rl_params_choice(df, &p, (size_t)rs), "replicate");
    assert_int_equal(rl_params_set(df, &p, "resampling-method", "bootstrap", &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "bagging, replicate"));
    assert_int_equal(rl_params_set(df, &p, "resampling-method", "1", &err), RL_EINVAL);
}

static void test_params_json(void **unused)
{
    (void)unused;
    const rl_learner_kind *k = &rl_two_class_decision_forest;
    rl_params p, q, before;
    rl_error err;
    rl_params_default(k, &p);
    json_t *in =
        json_pack("{s:i, s:s, s:f, s:s}", "number-of-decision-trees", 12, "random-number-seed", "7",
                  "feature-fraction", 0.1 + 0.2, "resampling-method", "replicate");
    assert_int_equal(rl_params_from_json(k, in, &p, &err), RL_OK);
    json_decref(in);
    assert_true(p.v[param_index(k, "number-of-decision-trees")] == 12);
    assert_true(p.v[param_index(k, "random-number-seed")] == 7);
    assert_true(p.v[param_index(k, "feature-fraction")] == 0.1 + 0.2);

    /* Round trip through text with 17 significant digits. */
    json_t *out = rl_params_to_json(k, &p);
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "resampling-method")), "replicate");
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    rl_params_default(k, &q);
    assert_int_equal(rl_params_from_json(k, back, &q, &err), RL_OK);
    json_decref(back);
    assert_memory_equal(&p, &q, sizeof p);

    /* Every problem reported, nothing changed. */
    before = p;
    json_t *bad = json_pack("{s:i, s:f, s:b, s:i, s:n}", "nope", 1, "feature-fraction", 5.0,
                            "max-bin", 1, "resampling-method", 0, "random-number-seed");
    assert_int_equal(rl_params_from_json(k, bad, &p, &err), RL_EINVAL);
    json_decref(bad);
    size_t lines = 1;
    for (const char *c = err.msg; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 5);
    assert_non_null(strstr(err.msg, "nope"));
    assert_non_null(strstr(err.msg, "feature-fraction"));
    assert_non_null(strstr(err.msg, "max-bin"));
    assert_memory_equal(&p, &before, sizeof p);
    json_t *arr = json_array();
    assert_int_equal(rl_params_from_json(k, arr, &p, &err), RL_EINVAL);
    json_decref(arr);

    /* Booleans from JSON. */
    const rl_learner_kind *lin = &rl_linear_regression;
    rl_params_default(lin, &p);
    json_t *b = json_pack("{s:b, s:f}", "include-intercept", 0, "l2-regularization-weight", 0.0);
    assert_int_equal(rl_params_from_json(lin, b, &p, &err), RL_OK);
    json_decref(b);
    assert_true(p.v[param_index(lin, "include-intercept")] == 0);
    b = json_pack("{s:f}", "include-intercept", 0.5);
    assert_int_equal(rl_params_from_json(lin, b, &p, &err), RL_EINVAL);
    json_decref(b);
}

/* ---- training, prediction, save/load ---- */

static void check_kind(const rl_learner_kind *k)
{
    dataset d, big;
    make_data(k->task, 600, 42, k->library[0] == 'x', &d);
    rl_params p;
    rl_params_default(k, &p);
    void *st = train_ok(k, &p, &d);
    size_t nout = rl_learner_nout(k, d.nclass);
    double *pred = predict_ok(k, st, &d.x, d.nclass);
    double q = quality(k, &d, pred);
    double want = k->task == RL_TASK_REGRESSION ? (k->library[0] == 'l' ? 0.99 : 0.9) : 0.9;
    if (q < want) fail_msg("%s: quality %g below %g", k->name, q, want);
    for (size_t i = 0; i < d.x.rows; i++) {
        if (k->task == RL_TASK_REGRESSION) continue;
        double sum = 0;
        for (size_t c = 0; c < nout; c++) {
            double v = pred[i * nout + c];
            assert_true(v >= 0 && v <= 1);
            sum += v;
        }
        if (k->task == RL_TASK_MULTICLASS) assert_true(fabs(sum - 1) < 1e-5);
    }

    /* save -> load -> predict is bit-for-bit, and saving again gives the
     * same bytes. */
    rl_buf b1 = RL_BUF_INIT, b2 = RL_BUF_INIT;
    save_ok(k, st, &b1);
    void *st2 = NULL;
    rl_error err;
    if (k->load(&p, d.nclass, b1.data, b1.len, &st2, &err)) fail_msg("%s: %s", k->name, err.msg);
    double *pred2 = predict_ok(k, st2, &d.x, d.nclass);
    assert_memory_equal(pred, pred2, d.x.rows * nout * sizeof *pred);
    save_ok(k, st2, &b2);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);

    /* One row at a time gives the rows of the batch; so does a batch large
     * enough for the multi-threaded path. */
    for (size_t i = 0; i < 10; i++) {
        rl_matrix one = {1, d.x.cols, d.x.data + i * d.x.cols};
        double *o = predict_ok(k, st2, &one, d.nclass);
        assert_memory_equal(o, pred + i * nout, nout * sizeof *o);
        free(o);
    }
    make_data(k->task, 2 * RL_LEARNER_SMALL_ROWS + 7, 43, 1, &big);
    double *pb = predict_ok(k, st, &big.x, d.nclass);
    for (size_t i = 0; i < big.x.rows; i += 97) {
        rl_matrix one = {1, big.x.cols, big.x.data + i * big.x.cols};
        double *o = predict_ok(k, st2, &one, d.nclass);
        assert_memory_equal(o, pb + i * nout, nout * sizeof *o);
        free(o);
    }

    /* Zero rows is fine; a wrong width or an infinite value is not. */
    rl_matrix none = {0, d.x.cols, d.x.data};
    assert_int_equal(k->predict(st, &none, pred2, &err), RL_OK);
    rl_matrix narrow = {2, d.x.cols - 1, d.x.data};
    assert_int_equal(k->predict(st, &narrow, pred2, &err), RL_ESCHEMA);
    double saved = d.x.data[5];
    d.x.data[5] = INFINITY;
    rl_matrix two = {2, d.x.cols, d.x.data};
    assert_int_equal(k->predict(st, &two, pred2, &err), RL_EINVAL);
    d.x.data[5] = saved;

    free(pb);
    free_data(&big);
    rl_buf_fini(&b1);
    rl_buf_fini(&b2);
    free(pred);
    free(pred2);
    k->free(st);
    k->free(st2);
    free_data(&d);
}

static void test_two_class_logistic_regression(void **u)
{
    (void)u;
    check_kind(&rl_two_class_logistic_regression);
}
static void test_multiclass_logistic_regression(void **u)
{
    (void)u;
    check_kind(&rl_multiclass_logistic_regression);
}
static void test_two_class_support_vector_machine(void **u)
{
    (void)u;
    check_kind(&rl_two_class_support_vector_machine);
}
static void test_two_class_boosted_decision_tree(void **u)
{
    (void)u;
    check_kind(&rl_two_class_boosted_decision_tree);
}
static void test_multiclass_boosted_decision_tree(void **u)
{
    (void)u;
    check_kind(&rl_multiclass_boosted_decision_tree);
}
static void test_two_class_decision_forest(void **u)
{
    (void)u;
    check_kind(&rl_two_class_decision_forest);
}
static void test_multiclass_decision_forest(void **u)
{
    (void)u;
    check_kind(&rl_multiclass_decision_forest);
}
static void test_boosted_decision_tree_regression(void **u)
{
    (void)u;
    check_kind(&rl_boosted_decision_tree_regression);
}
static void test_linear_regression(void **u)
{
    (void)u;
    check_kind(&rl_linear_regression);
}

/* ---- specific behaviour ---- */

static void test_linreg_exact(void **unused)
{
    (void)unused;
    const rl_learner_kind *k = &rl_linear_regression;
    dataset d;
    make_data(RL_TASK_REGRESSION, 300, 7, 0, &d);
    rl_params p;
    rl_params_default(k, &p);
    assert_int_equal(rl_params_set(k, &p, "l2-regularization-weight", "0", NULL), RL_OK);
    void *st = train_ok(k, &p, &d);
    /* The coefficients, read back through predictions at unit vectors. */
    double e[5 * NFEAT] = {0};
    for (int j = 0; j < NFEAT; j++)
        e[(j + 1) * NFEAT + j] = 1;
    rl_matrix ex = {5, NFEAT, e};
    double *o = predict_ok(k, st, &ex, 0);
    const double truth[NFEAT] = {3, -1.5, 0.5, 0};
    assert_true(fabs(o[0] - 2) < 1e-9);
    for (int j = 0; j < NFEAT; j++)
        assert_true(fabs(o[j + 1] - o[0] - truth[j]) < 1e-9);
    free(o);
    k->free(st);

    /* Without an intercept the fit must go through the origin. */
    assert_int_equal(rl_params_set(k, &p, "include-intercept", "false", NULL), RL_OK);
    st = train_ok(k, &p, &d);
    o = predict_ok(k, st, &ex, 0);
    assert_true(o[0] == 0);
    k->free(st);
    free(o);

    /* A duplicated column and l2 = 0: the minimum-norm answer splits the
     * weight evenly, and predictions stay exact. */
    rl_matrix dup = {d.x.rows, NFEAT + 1, malloc(d.x.rows * (NFEAT + 1) * sizeof(double))};
    for (size_t i = 0; i < d.x.rows; i++) {
        memcpy(dup.data + i * (NFEAT + 1), d.x.data + i * NFEAT, NFEAT * sizeof(double));
        dup.data[i * (NFEAT + 1) + NFEAT] = d.x.data[i * NFEAT];
    }
    rl_params_default(k, &p);
    rl_params_set(k, &p, "l2-regularization-weight", "0", NULL);
    dataset dd = {dup, d.y, 0};
    st = train_ok(k, &p, &dd);
    double e2[3 * (NFEAT + 1)] = {0};
    e2[(NFEAT + 1) + 0] = 1;
    e2[2 * (NFEAT + 1) + NFEAT] = 1;
    rl_matrix ex2 = {3, NFEAT + 1, e2};
    o = predict_ok(k, st, &ex2, 0);
    assert_true(fabs(o[1] - o[0] - 1.5) < 1e-6);
    assert_true(fabs(o[2] - o[0] - 1.5) < 1e-6);
    free(o);
    o = predict_ok(k, st, &dup, 0);
    assert_true(quality(k, &d, o) > 1 - 1e-12);
    free(o);
    k->free(st);
    free(dup.data);

    /* Ridge shrinks: a large penalty pulls the weights towards 0. */
    rl_params_set(k, &p, "l2-regularization-weight", "1000000", NULL);
    st = train_ok(k, &p, &d);
    o = predict_ok(k, st, &ex, 0);
    assert_true(fabs(o[1] - o[0]) < 0.01);
    free(o);
    k->free(st);
    free_data(&d);
}

static void test_logistic_l1_and_errors(void **unused)
{
    (void)unused;
    const rl_learner_kind *k = &rl_two_class_logistic_regression;
    dataset d;
    make_data(RL_TASK_BINARY, 400, 3, 0, &d);
    rl_params p;
    rl_error err;
    void *st = NULL;
    rl_params_default(k, &p);
    rl_params_set(k, &p, "l1-regularization-weight", "0.5", NULL);
    assert_int_equal(k->train(&p, &d.x, d.y, 2, &st, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "set one of them to 0"));
    rl_params_set(k, &p, "l2-regularization-weight", "0", NULL);
    st = train_ok(k, &p, &d);
    double *o = predict_ok(k, st, &d.x, 2);
    assert_true(quality(k, &d, o) > 0.9);
    free(o);
    k->free(st);
    rl_params_set(k, &p, "l1-regularization-weight", "0", NULL);
    assert_int_equal(k->train(&p, &d.x, d.y, 2, &st, &err), RL_EINVAL);

    /* Bad targets and shapes. */
    rl_params_default(k, &p);
    d.y[17] = 2;
    assert_int_equal(k->train(&p, &d.x, d.y, 2, &st, &err), RL_EINVAL);
    assert_non_null(strstr(err.msg, "row 18"));
    d.y[17] = 1;
    rl_matrix empty = {0, NFEAT, d.x.data};
    assert_int_equal(k->train(&p, &empty, d.y, 2, &st, &err), RL_EINVAL);
    double keep = d.x.data[9];
    d.x.data[9] = -INFINITY;
    assert_int_equal(k->train(&p, &d.x, d.y, 2, &st, &err), RL_EINVAL);
    d.x.data[9] = keep;
    const rl_learner_kind *m = &rl_multiclass_boosted_decision_tree;
    rl_params_default(m, &p);
    assert_int_equal(m->train(&p, &d.x, d.y, 1, &st, &err), RL_EINVAL);
    d.y[3] = 0.5;
    assert_int_equal(m->train(&p, &d.x, d.y, 3, &st, &err), RL_EINVAL);
    free_data(&d);
}

/* The SVM's solvers and normalization: every variant learns; primal and
 * dual solve the same problem, so with a tight tolerance they agree, which
 * also checks that weights learnt on standardized columns are folded back
 * onto the raw ones correctly. */
static void test_svm_variants(void **unused)
{
    (void)unused;
    const rl_learner_kind *k = &rl_two_class_support_vector_machine;
    dataset d, plain;
    make_data(RL_TASK_BINARY, 500, 8, 0, &d);
    make_data(RL_TASK_BINARY, 500, 8, 0, &plain);
    const double scale[NFEAT] = {1000, 0.001, 1, 50}, shift[NFEAT] = {-30, 7, 0, 1000};
    for (size_t i = 0; i < d.x.rows; i++)
        for (int j = 0; j < NFEAT; j++)
            d.x.data[i * NFEAT + j] = d.x.data[i * NFEAT + j] * scale[j] + shift[j];
    const char *variants[][3] = {{"true", "primal", "1e-10"},
                                 {"true", "dual", "1e-10"},
                                 {"true", "auto", "1e-4"},
                                 {"false", "primal", "1e-4"},
                                 {"false", "dual", "1e-4"}};
    double *dec[2] = {NULL, NULL};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        rl_params p;
        rl_params_default(k, &p);
        assert_int_equal(rl_params_set(k, &p, "normalize-features", variants[v][0], NULL), RL_OK);
        assert_int_equal(rl_params_set(k, &p, "solver", variants[v][1], NULL), RL_OK);
        assert_int_equal(rl_params_set(k, &p, "optimization-tolerance", variants[v][2], NULL),
                         RL_OK);
        /* Unnormalized, such scales defeat the solvers (see liblinear.c), so
         * those variants get the plain data. */
        const dataset *dv = v < 3 ? &d : &plain;
        void *st = train_ok(k, &p, dv);
        double *o = predict_ok(k, st, &dv->x, 2);
        double q = quality(k, dv, o);
        if (q < 0.95) fail_msg("variant %zu: accuracy %g", v, q);
        if (v < 2) {
            dec[v] = o;
        } else {
            free(o);
        }
        k->free(st);
    }
    for (size_t i = 0; i < d.x.rows; i++) {
        double a = log(dec[0][i] / (1 - dec[0][i])), b = log(dec[1][i] / (1 - dec[1][i]));
        if (fabs(a - b) > 1e-5 * (1 + fabs(a))) fail_msg("row %zu: primal %g, dual %g", i, a, b);
    }
    free(dec[0]);
    free(dec[1]);
    free_data(&d);
    free_data(&plain);
}

/* One class only, and multiclass with a class that never occurs. */
static void test_degenerate_classes(void **unused)
{
    (void)unused;
    const rl_learner_kind *const *all = rl_learner_all();
    for (size_t i = 0; all[i]; i++) {
        const rl_learner_kind *k = all[i];
        if (k->task == RL_TASK_REGRESSION) continue;
        dataset d;
        make_data(k->task, 200, 11, 0, &d);
        rl_params p;
        small_params(k, &p);
        if (k->task == RL_TASK_BINARY) {
            for (size_t r = 0; r < d.x.rows; r++)
                d.y[r] = 1;
            void *st = train_ok(k, &p, &d);
            double *o = predict_ok(k, st, &d.x, 2);
            for (size_t r = 0; r < d.x.rows; r++)
                assert_true(o[r] > 0.5);
            free(o);
            k->free(st);
        } else {
            d.nclass = 4; /* class 3 never occurs */
            void *st = train_ok(k, &p, &d);
            double *o = predict_ok(k, st, &d.x, 4);
            for (size_t r = 0; r < d.x.rows; r++) {
                double s = o[4 * r] + o[4 * r + 1] + o[4 * r + 2] + o[4 * r + 3];
                assert_true(fabs(s - 1) < 1e-5);
                assert_true(o[4 * r + 3] < 0.5);
            }
            free(o);
            k->free(st);
        }
        free_data(&d);
    }
}

/* ---- damaged payloads ---- */

static void check_damage(const rl_learner_kind *k)
{
    dataset d;
    make_data(k->task, 120, 5, 0, &d);
    rl_params p;
    small_params(k, &p);
    void *st = train_ok(k, &p, &d);
    rl_buf b = RL_BUF_INIT;
    save_ok(k, st, &b);
    rl_error err;
    void *st2 = NULL;
    unsigned char *copy = malloc(b.len);
    for (size_t n = 0; n < b.len; n++) { /* every truncation */
        memcpy(copy, b.data, n);
        int rc = k->load(&p, d.nclass, copy, n, &st2, &err);
        if (rc != RL_EFORMAT) fail_msg("%s: truncated to %zu gives %d", k->name, n, rc);
    }
    size_t step = b.len > 4096 ? 7 : 1;
    for (size_t i = 0; i < b.len; i += step) { /* flipped bytes */
        memcpy(copy, b.data, b.len);
        copy[i] ^= (unsigned char)(1u << (i % 8));
        int rc = k->load(&p, d.nclass, copy, b.len, &st2, &err);
        if (rc != RL_EFORMAT) fail_msg("%s: flipped byte %zu gives %d", k->name, i, rc);
    }
    /* Too long, and another class count. */
    unsigned char *longer = malloc(b.len + 1);
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    assert_int_equal(k->load(&p, d.nclass, longer, b.len + 1, &st2, &err), RL_EFORMAT);
    if (k->task == RL_TASK_MULTICLASS)
        assert_int_equal(k->load(&p, d.nclass + 1, b.data, b.len, &st2, &err), RL_EFORMAT);
    /* Another kind's payload. */
    const rl_learner_kind *other =
        k->library[0] == 'x' ? &rl_linear_regression : &rl_boosted_decision_tree_regression;
    assert_int_equal(other->load(&p, d.nclass, b.data, b.len, &st2, &err), RL_EFORMAT);
    assert_int_equal(k->load(&p, d.nclass, NULL, 0, &st2, &err), RL_EFORMAT);
    free(longer);
    free(copy);
    rl_buf_fini(&b);
    k->free(st);
    free_data(&d);
}

static void test_damaged_payloads(void **unused)
{
    (void)unused;
    const rl_learner_kind *const *all = rl_learner_all();
    for (size_t i = 0; all[i]; i++)
        check_damage(all[i]);
}

/* Rewraps the XGBoost payload of a saved model with other header fields (a
 * valid envelope, a valid UBJSON model that does not fit it). */
static void rewrap(const rl_buf *saved, uint32_t task, uint32_t nclass, uint64_t nfeat, rl_buf *out)
{
    const char *payload = saved->data + RL_WIRE_HEADER;
    size_t mark;
    assert_int_equal(rl_wire_begin(out, RL_WIRE_TAG_XGBOOST, &mark), RL_OK);
    rl_wire_put_u32(out, task);
    rl_wire_put_u32(out, nclass);
    rl_wire_put_u64(out, nfeat);
    rl_buf_append(out, payload + 16, saved->len - RL_WIRE_HEADER - 16);
    rl_wire_end(out, mark);
}

/* XGBoost's own loader crashes or allocates without bound on damaged UBJSON,
 * so damage must be caught by the envelope (test_damaged_payloads); here the
 * UBJSON is sound but does not fit the header or the kind. */
static void test_xgboost_mismatch(void **unused)
{
    (void)unused;
    const rl_learner_kind *kinds[] = {&rl_boosted_decision_tree_regression,
                                      &rl_multiclass_boosted_decision_tree};
    rl_buf saved[2] = {RL_BUF_INIT, RL_BUF_INIT};
    for (int i = 0; i < 2; i++) {
        dataset d;
        make_data(kinds[i]->task, 120, 5, 0, &d);
        rl_params p;
        small_params(kinds[i], &p);
        void *st = train_ok(kinds[i], &p, &d);
        save_ok(kinds[i], st, &saved[i]);
        kinds[i]->free(st);
        free_data(&d);
    }
    rl_params p;
    rl_params_default(&rl_two_class_boosted_decision_tree, &p);
    struct {
        const rl_learner_kind *k;
        int src;
        uint32_t task, nclass;
        uint64_t nfeat;
        int nclass_arg;
        const char *says;
    } cases[] = {
        {&rl_two_class_boosted_decision_tree, 0, RL_TASK_BINARY, 2, NFEAT, 2, "objective"},
        {&rl_boosted_decision_tree_regression, 0, RL_TASK_REGRESSION, 0, NFEAT + 1, 0,
         "feature count"},
        {&rl_multiclass_boosted_decision_tree, 1, RL_TASK_MULTICLASS, 4, NFEAT, 4, "class count"},
        {&rl_boosted_decision_tree_regression, 1, RL_TASK_REGRESSION, 0, NFEAT, 0, "objective"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        rl_buf b = RL_BUF_INIT;
        rewrap(&saved[cases[c].src], cases[c].task, cases[c].nclass, cases[c].nfeat, &b);
        void *st = NULL;
        rl_error err;
        int rc = cases[c].k->load(&p, cases[c].nclass_arg, b.data, b.len, &st, &err);
        if (rc != RL_EFORMAT || !strstr(err.msg, cases[c].says))
            fail_msg("case %zu: %d %s", c, rc, err.msg);
        rl_buf_fini(&b);
    }
    /* The same rewrapping with the true header loads. */
    rl_buf b = RL_BUF_INIT;
    rewrap(&saved[1], RL_TASK_MULTICLASS, 3, NFEAT, &b);
    void *st = NULL;
    rl_error err;
    if (rl_multiclass_boosted_decision_tree.load(&p, 3, b.data, b.len, &st, &err))
        fail_msg("%s", err.msg);
    rl_multiclass_boosted_decision_tree.free(st);
    rl_buf_fini(&b);
    rl_buf_fini(&saved[0]);
    rl_buf_fini(&saved[1]);
}

/* ---- concurrency ---- */

typedef struct worker {
    const rl_learner_kind *k;
    const void *st;
    const rl_matrix *x;
    const double *ref;
    int nclass;
    int mismatches;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    size_t nout = rl_learner_nout(w->k, w->nclass);
    double *o = malloc(w->x->rows * nout * sizeof *o);
    rl_error err;
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < 60; i++) {
            rl_matrix one = {1, w->x->cols, w->x->data + i * w->x->cols};
            if (w->k->predict(w->st, &one, o, &err) ||
                memcmp(o, w->ref + i * nout, nout * sizeof *o) != 0)
                w->mismatches++;
        }
        if (w->k->predict(w->st, w->x, o, &err) ||
            memcmp(o, w->ref, w->x->rows * nout * sizeof *o) != 0)
            w->mismatches++;
    }
    free(o);
    return NULL;
}

static void test_concurrent_predict(void **unused)
{
    (void)unused;
    const rl_learner_kind *const *all = rl_learner_all();
    for (size_t i = 0; all[i]; i++) {
        const rl_learner_kind *k = all[i];
        dataset d, big;
        make_data(k->task, 300, 9, 1, &d);
        make_data(k->task, RL_LEARNER_SMALL_ROWS + 100, 10, 1, &big);
        rl_params p;
        rl_params_default(k, &p);
        void *st = train_ok(k, &p, &d);
        double *ref = predict_ok(k, st, &big.x, d.nclass);
        pthread_t t[4];
        worker w[4];
        for (int j = 0; j < 4; j++) {
            w[j] = (worker){k, st, &big.x, ref, d.nclass, 0};
            assert_int_equal(pthread_create(&t[j], NULL, work, &w[j]), 0);
        }
        for (int j = 0; j < 4; j++) {
            pthread_join(t[j], NULL);
            if (w[j].mismatches)
                fail_msg("%s: thread %d saw %d mismatches", k->name, j, w[j].mismatches);
        }
        free(ref);
        k->free(st);
        free_data(&d);
        free_data(&big);
    }
}

/* ---- out of memory ---- */

static void test_out_of_memory(void **unused)
{
    (void)unused;
    const rl_learner_kind *kinds[] = {
        &rl_two_class_logistic_regression,    &rl_multiclass_logistic_regression,
        &rl_two_class_support_vector_machine, &rl_linear_regression,
        &rl_two_class_boosted_decision_tree,  &rl_multiclass_decision_forest};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const rl_learner_kind *k = kinds[i];
        dataset d;
        make_data(k->task, 100, 21, 0, &d);
        rl_params p;
        small_params(k, &p);
        int trained = 0, loaded = 0;
        for (long n = 0; n < 200 && !(trained && loaded); n++) {
            rl_error err;
            void *st = NULL, *st2 = NULL;
            rl_buf b = RL_BUF_INIT;
            rl_mem_fail_after(n);
            int rc = k->train(&p, &d.x, d.y, d.nclass, &st, &err);
            if (rc == RL_OK) {
                trained = 1;
                rc = k->save(st, &b, &err);
                if (rc == RL_OK) {
                    rc = k->load(&p, d.nclass, b.data, b.len, &st2, &err);
                    if (rc == RL_OK) loaded = 1;
                }
            }
            rl_mem_fail_reset();
            if (rc != RL_OK && rc != RL_ENOMEM) fail_msg("%s: %d %s", k->name, rc, err.msg);
            if (rc == RL_ENOMEM) assert_true(err.msg[0] != '\0');
            rl_buf_fini(&b);
            k->free(st);
            k->free(st2);
        }
        assert_true(trained && loaded);
        free_data(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_params_text),
        cmocka_unit_test(test_params_json),
        cmocka_unit_test(test_two_class_logistic_regression),
        cmocka_unit_test(test_multiclass_logistic_regression),
        cmocka_unit_test(test_two_class_support_vector_machine),
        cmocka_unit_test(test_two_class_boosted_decision_tree),
        cmocka_unit_test(test_multiclass_boosted_decision_tree),
        cmocka_unit_test(test_two_class_decision_forest),
        cmocka_unit_test(test_multiclass_decision_forest),
        cmocka_unit_test(test_boosted_decision_tree_regression),
        cmocka_unit_test(test_linear_regression),
        cmocka_unit_test(test_linreg_exact),
        cmocka_unit_test(test_logistic_l1_and_errors),
        cmocka_unit_test(test_svm_variants),
        cmocka_unit_test(test_degenerate_classes),
        cmocka_unit_test(test_damaged_payloads),
        cmocka_unit_test(test_xgboost_mismatch),
        cmocka_unit_test(test_concurrent_predict),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
