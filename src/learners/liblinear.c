/* liblinear.c - logistic regression and the linear support vector machine, on
 * liblinear (the only file that includes it).
 *
 * Kinds and their liblinear settings:
 *   two-class-logistic-regression, multiclass-logistic-regression
 *     solver L2R_LR (0), C = 1 / l2-regularization-weight; or, when
 *     l1-regularization-weight > 0, solver L1R_LR (6), C = 1 / l1 (l2 must
 *     then be 0: liblinear has no elastic net, so both > 0 is an error, and so
 *     is both 0). eps = optimization-tolerance. include-intercept gives
 *     liblinear's bias = 1: a constant feature whose weight is the intercept,
 *     regularized like the other weights. Multiclass is liblinear's
 *     one-vs-rest; probabilities are predict_probability()'s (each class's
 *     logistic, normalized to sum 1).
 *   two-class-support-vector-machine
 *     the L2-regularized squared hinge loss, C = cost, eps =
 *     optimization-tolerance (default 1e-4 as scikit-learn, not liblinear's
 *     0.1), bias as above. solver: primal L2R_L2LOSS_SVC (2, Newton) or dual
 *     L2R_L2LOSS_SVC_DUAL (1, coordinate descent), which solve the same
 *     problem; auto (default) takes primal when rows >= features, as
 *     liblinear's authors advise: on census (24k x 104, normalized) the dual
 *     one runs into liblinear's 1000-iteration cap after 14 s, while the
 *     whole experiment with the primal one takes 1.6 s, for the same AUC.
 *     normalize-features (default true, as Studio's SVM) trains on columns
 *     standardized to deviation 1 (population deviation; 1 for a constant
 *     column) and, with an intercept, mean 0; the weights are then folded
 *     back onto the raw columns, so prediction needs no scaling. Without it
 *     the dual solver crawls on columns of very different scales (census:
 *     AUC 0.61 after liblinear's 1000 iterations, 0.90 normalized).
 *     Centering makes sparse one-hot columns dense while training. The
 *     probability is the logistic sigmoid of the decision value,
 *     1 / (1 + exp(-w.x)): monotone in the margin, so AUC and the 0.5
 *     threshold are the SVM's own, but it is not a calibrated probability.
 *
 * Peer mapping (scikit-learn 1.2 bundles its own liblinear; same problem):
 *   logistic: LogisticRegression(solver='liblinear', penalty='l2' (or 'l1'),
 *             C=1/l2 (or 1/l1), tol=TOL, fit_intercept=INTERCEPT,
 *             intercept_scaling=1); multiclass is its one-vs-rest, and
 *             predict_proba() normalizes the same way.
 *   SVM:      make_pipeline(StandardScaler(with_mean=INTERCEPT), LinearSVC(
 *             loss='squared_hinge', dual=DUAL, C=COST, tol=TOL,
 *             fit_intercept=INTERCEPT, intercept_scaling=1, max_iter large))
 *             with DUAL = (solver is dual, or auto and rows < features)
 *             (no StandardScaler when normalize-features is false); compare
 *             decision_function() with logit(probability), or AUC.
 *   Measured (800 x 6 synthetic, liblinear 2.3 against scikit-learn 1.2's):
 *   the two stop at slightly different points, so at the default tol 1e-4
 *   logistic coefficients differ by up to ~1e-4 (probabilities ~1e-4, AUC
 *   equal to 6 digits) and at tol 1e-10 by ~1e-8; L1 at tol 1e-8 by ~1e-7;
 *   normalized SVM decision values by ~4e-5 at tol 1e-4 (primal) and ~2e-9
 *   at tol 1e-8 (dual). Without normalization, on columns of very different
 *   scales, neither implementation converges and decision values differ by
 *   up to ~1. Compare coefficients with a tight tol.
 *
 * Targets: binary rows are given to liblinear as +1 (class 1) and -1
 * (class 0), so its first model is always "class 1 versus the rest" and the
 * decision value is positive for class 1; multiclass rows as the class index.
 * A class missing from the training rows gets probability 0. Missing values
 * (NAN) are read as 0, as are liblinear's absent sparse entries.
 *
 * State: a `struct model` rebuilt from our own arrays, so predict() calls
 * liblinear's predict_probability()/predict_values() on it. liblinear's
 * save_model/load_model are not used: they change the process locale and
 * need files. The payload (common.h envelope) is, little-endian:
 *   u32 solver, u32 task, u32 nclass, u32 nr_class, u32 nr_feature,
 *   f64 bias (1 or -1), u32 label[nr_class] (as int32), u64 nw, f64 w[nw]
 * where nw = (nr_feature + (bias > 0)) * (nr_class == 2 ? 1 : nr_class).
 *
 * Threads: liblinear's output goes to a silent print function, set once.
 * Its L1R_LR and dual SVM solvers shuffle with rand(), so they run under one
 * process-wide lock after srand(random-number-seed): results repeat, and such
 * trainings run one at a time (liblinear is single-threaded anyway). predict()
 * only reads the state and may run on many threads.
 */
#include "learners/common.h"
#include "learners/learner.h"
#include "base/mem.h"

#include <linear.h>

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct ll_state {
    struct model m; /* m.w and m.label are rl_malloc'd, ours */
    rl_task task;
    int nclass;   /* classes of the problem: 2 for two-class */
    size_t nfeat; /* matrix width */
    int *slot;    /* class -> index into m.label, or -1; two-class: slot[1] */
} ll_state;

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t rand_lock = PTHREAD_MUTEX_INITIALIZER;

static void print_nothing(const char *s)
{
    (void)s;
}

static void quiet(void)
{
    set_print_string_function(print_nothing);
}

static void ll_free(void *state)
{
    ll_state *st = state;
    if (!st) return;
    rl_free(st->m.w);
    rl_free(st->m.label);
    rl_free(st->slot);
    rl_free(st);
}

static size_t weight_count(int nr_class, int nr_feature, double bias)
{
    size_t n = (size_t)nr_feature + (bias > 0 ? 1 : 0);
    return n * (nr_class == 2 ? 1 : (size_t)nr_class);
}

/* Finishes st (m filled) with its class slots. */
static int make_slots(ll_state *st, rl_error *err)
{
    st->slot = rl_malloc((size_t)st->nclass * sizeof *st->slot);
    if (!st->slot) return rl_error_set(err, RL_ENOMEM, "out of memory building a linear model");
    for (int c = 0; c < st->nclass; c++)
        st->slot[c] = -1;
    for (int i = 0; i < st->m.nr_class; i++) {
        int l = st->m.label[i];
        int c = st->task == RL_TASK_BINARY ? (l > 0 ? 1 : 0) : l;
        st->slot[c] = i;
    }
    return RL_OK;
}

/* Per-column standardization for training, or none (NULL arrays). */
typedef struct scaling {
    const double *mean, *scale;
} scaling;

/* Cell j of row as liblinear sees it: NAN read as 0, then standardized. */
static double cell(const double *row, size_t j, const scaling *sc)
{
    double v = isnan(row[j]) ? 0 : row[j];
    return sc->scale ? (v - sc->mean[j]) / sc->scale[j] : v;
}

/* Row i of x as liblinear's sparse nodes (zeros left out, bias and
 * terminator appended); nodes has room for cols + 2. */
static void row_nodes(const rl_matrix *x, size_t i, double bias, const scaling *sc,
                      struct feature_node *nodes)
{
    const double *row = x->data + i * x->cols;
    size_t k = 0;
    for (size_t j = 0; j < x->cols; j++) {
        double v = cell(row, j, sc);
        if (v == 0) continue;
        nodes[k].index = (int)j + 1;
        nodes[k++].value = v;
    }
    if (bias > 0) {
        nodes[k].index = (int)x->cols + 1;
        nodes[k++].value = bias;
    }
    nodes[k].index = -1;
    nodes[k].value = 0;
}

static int ll_predict(const void *state, const rl_matrix *x, double *out, rl_error *err)
{
    const ll_state *st = state;
    int rc = rl_learner_check_predict(x, st->nfeat, err);
    if (rc || x->rows == 0) return rc;
    struct feature_node *nodes = rl_malloc((x->cols + 2) * sizeof *nodes);
    double *val = rl_malloc((size_t)st->m.nr_class * sizeof *val);
    if (!nodes || !val) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory predicting");
        goto done;
    }
    int svm =
        st->m.param.solver_type == L2R_L2LOSS_SVC_DUAL || st->m.param.solver_type == L2R_L2LOSS_SVC;
    for (size_t i = 0; i < x->rows; i++) {
        row_nodes(x, i, st->m.bias, &(scaling){NULL, NULL}, nodes);
        if (st->task == RL_TASK_BINARY) {
            int pos = st->slot[1];
            double p;
            if (svm && st->m.nr_class == 2) {
                predict_values(&st->m, nodes, val);
                double d = st->m.label[0] > 0 ? val[0] : -val[0];
                p = 1 / (1 + exp(-d));
            } else if (svm) { /* one class seen in training */
                p = pos >= 0 ? 1 : 0;
            } else {
                predict_probability(&st->m, nodes, val);
                p = pos >= 0 ? val[pos] : 0;
            }
            out[i] = p;
        } else {
            predict_probability(&st->m, nodes, val);
            double *o = out + i * (size_t)st->nclass;
            for (int c = 0; c < st->nclass; c++)
                o[c] = st->slot[c] >= 0 ? val[st->slot[c]] : 0;
        }
    }
done:
    rl_free(nodes);
    rl_free(val);
    return rc;
}

static int ll_save(const void *state, rl_buf *out, rl_error *err)
{
    const ll_state *st = state;
    const struct model *m = &st->m;
    size_t mark = out->len, nw = weight_count(m->nr_class, m->nr_feature, m->bias);
    int rc = rl_wire_begin(out, RL_WIRE_TAG_LIBLINEAR, &mark);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)m->param.solver_type);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)st->task);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)st->nclass);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)m->nr_class);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)m->nr_feature);
    if (!rc) rc = rl_wire_put_f64(out, m->bias);
    for (int i = 0; !rc && i < m->nr_class; i++)
        rc = rl_wire_put_u32(out, (uint32_t)m->label[i]);
    if (!rc) rc = rl_wire_put_u64(out, nw);
    if (!rc) rc = rl_wire_put_f64s(out, m->w, nw);
    if (rc) {
        out->len = mark;
        return rl_error_set(err, RL_ENOMEM, "out of memory saving a liblinear model");
    }
    rl_wire_end(out, mark);
    return RL_OK;
}

static int ll_load(const rl_learner_kind *k, int nclass, const void *data, size_t len, void **state,
                   rl_error *err)
{
    static const char what[] = "liblinear model";
    rl_wire_reader r;
    ll_state *st = NULL;
    int rc = rl_wire_open(data, len, RL_WIRE_TAG_LIBLINEAR, what, &r, err);
    if (rc) return rc;
    uint32_t solver = rl_wire_get_u32(&r), task = rl_wire_get_u32(&r);
    uint32_t ncls = rl_wire_get_u32(&r), nr_class = rl_wire_get_u32(&r);
    uint32_t nr_feature = rl_wire_get_u32(&r);
    double bias = rl_wire_get_f64(&r);
    int svm = k == &rl_two_class_support_vector_machine;
    if (r.bad) return rl_wire_close(&r, what, err);
    if (svm ? solver != L2R_L2LOSS_SVC_DUAL && solver != L2R_L2LOSS_SVC
            : solver != L2R_LR && solver != L1R_LR)
        return rl_wire_corrupt(err, what, "unexpected solver");
    if (task != (uint32_t)k->task) return rl_wire_corrupt(err, what, "it is for another task");
    if (k->task == RL_TASK_BINARY ? ncls != 2 : ncls != (uint32_t)nclass || ncls < 2)
        return rl_wire_corrupt(err, what, "its class count differs from the model's");
    if (nr_class < 1 || nr_class > ncls || nr_feature < 1 || nr_feature > INT32_MAX - 2 ||
        (bias != 1 && bias != -1))
        return rl_wire_corrupt(err, what, "impossible sizes");
    if (nr_class > rl_wire_left(&r) / 4) return rl_wire_corrupt(err, what, "truncated labels");
    if (!(st = rl_calloc(1, sizeof *st))) goto oom;
    st->task = k->task;
    st->nclass = (int)ncls;
    st->nfeat = nr_feature;
    st->m.param.solver_type = (int)solver;
    st->m.nr_class = (int)nr_class;
    st->m.nr_feature = (int)nr_feature;
    st->m.bias = bias;
    if (!(st->m.label = rl_malloc(nr_class * sizeof *st->m.label))) goto oom;
    for (uint32_t i = 0; i < nr_class; i++) {
        int32_t l = (int32_t)rl_wire_get_u32(&r);
        int ok = k->task == RL_TASK_BINARY ? l == 1 || l == -1 : l >= 0 && (uint32_t)l < ncls;
        for (uint32_t j = 0; j < i; j++)
            ok = ok && st->m.label[j] != l;
        if (!ok && !r.bad) {
            rc = rl_wire_corrupt(err, what, "bad class labels");
            goto fail;
        }
        st->m.label[i] = l;
    }
    uint64_t nw = rl_wire_get_u64(&r);
    if (r.bad || nw != weight_count((int)nr_class, (int)nr_feature, bias) ||
        nw > rl_wire_left(&r) / 8) {
        rc = r.bad ? rl_wire_close(&r, what, err) : rl_wire_corrupt(err, what, "bad weight count");
        goto fail;
    }
    if (!(st->m.w = rl_malloc((size_t)nw * sizeof *st->m.w))) goto oom;
    rl_wire_get_f64s(&r, st->m.w, (size_t)nw);
    if ((rc = rl_wire_close(&r, what, err))) goto fail;
    for (size_t i = 0; i < nw; i++)
        if (!isfinite(st->m.w[i])) {
            rc = rl_wire_corrupt(err, what, "a weight is not finite");
            goto fail;
        }
    if ((rc = make_slots(st, err))) goto fail;
    *state = st;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory loading a liblinear model");
fail:
    ll_free(st);
    return rc;
}

/* ---- training ---- */

/* Means (when centering) and population standard deviations (1 for a
 * constant column) of x's columns, NAN read as 0, as scikit-learn's
 * StandardScaler(with_mean=center) computes them. */
static int fit_scaling(const rl_matrix *x, int center, double **mean, double **scale)
{
    size_t n = x->rows, d = x->cols;
    double *m = rl_calloc(d, sizeof *m), *sd = rl_calloc(d, sizeof *sd);
    if (!m || !sd) {
        rl_free(m);
        rl_free(sd);
        return RL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = x->data[i * d + j];
            m[j] += isnan(v) ? 0 : v;
        }
    for (size_t j = 0; j < d; j++)
        m[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = x->data[i * d + j];
            v = (isnan(v) ? 0 : v) - m[j];
            sd[j] += v * v;
        }
    for (size_t j = 0; j < d; j++) {
        sd[j] = sqrt(sd[j] / (double)n);
        if (!(sd[j] > 10 * DBL_EPSILON * fmax(1, fabs(m[j])))) sd[j] = 1;
        if (!center) m[j] = 0;
    }
    *mean = m;
    *scale = sd;
    return RL_OK;
}

/* Rewrites weights learnt on standardized columns as weights on the raw
 * columns: w_j / scale_j, and the bias weight less sum w_j mean_j / scale_j
 * (means are 0 without a bias). Predictions need no scaling after this. */
static void fold_scaling(struct model *m, const scaling *sc)
{
    size_t nf = (size_t)m->nr_feature;
    size_t nr_w = weight_count(m->nr_class, m->nr_feature, m->bias) / (nf + (m->bias > 0));
    for (size_t c = 0; c < nr_w; c++) {
        double shift = 0;
        for (size_t j = 0; j < nf; j++) {
            double *w = &m->w[j * nr_w + c];
            shift += *w * sc->mean[j] / sc->scale[j];
            *w /= sc->scale[j];
        }
        if (m->bias > 0) m->w[nf * nr_w + c] -= shift * m->bias;
    }
}

static int ll_train(const rl_learner_kind *k, struct parameter *param, double bias, int normalize,
                    unsigned seed, const rl_matrix *x, const double *y, int nclass, void **state,
                    rl_error *err)
{
    int rc = rl_learner_check_train(k, x, y, nclass, err);
    if (rc) return rc;
    size_t n = x->rows, cols = x->cols, nnz = 0;
    double *mean = NULL, *scale = NULL;
    if (normalize && fit_scaling(x, bias > 0, &mean, &scale))
        return rl_error_set(err, RL_ENOMEM, "out of memory training %s", k->name);
    scaling sc = {mean, scale};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < cols; j++)
            nnz += cell(x->data + i * cols, j, &sc) != 0;
    size_t per_row = 1 + (bias > 0); /* terminator and bias */
    struct feature_node *pool = NULL, **rows = NULL;
    double *ly = NULL;
    struct model *lm = NULL;
    ll_state *st = NULL;
    if (n > (SIZE_MAX / sizeof *pool - nnz) / per_row) goto oom;
    pool = rl_malloc((nnz + n * per_row) * sizeof *pool);
    rows = rl_malloc(n * sizeof *rows);
    ly = rl_malloc(n * sizeof *ly);
    if (!pool || !rows || !ly) goto oom;
    struct feature_node *next = pool;
    for (size_t i = 0; i < n; i++) {
        rows[i] = next;
        row_nodes(x, i, bias, &sc, next);
        while (next->index != -1)
            next++;
        next++;
        ly[i] = k->task == RL_TASK_BINARY ? (y[i] == 1 ? 1 : -1) : y[i];
    }
    struct problem prob = {
        .l = (int)n, .n = (int)cols + (bias > 0), .y = ly, .x = rows, .bias = bias > 0 ? bias : -1};
    const char *msg = check_parameter(&prob, param);
    if (msg) {
        rc = rl_error_set(err, RL_EINVAL, "liblinear refuses the parameters of %s: %s", k->name,
                          msg);
        goto fail;
    }
    pthread_once(&quiet_once, quiet);
    int shuffles = param->solver_type == L1R_LR || param->solver_type == L2R_L2LOSS_SVC_DUAL;
    if (shuffles) {
        pthread_mutex_lock(&rand_lock);
        srand(seed);
    }
    lm = train(&prob, param);
    if (shuffles) pthread_mutex_unlock(&rand_lock);
    if (!lm) goto oom;
    if (!(st = rl_calloc(1, sizeof *st))) goto oom;
    st->task = k->task;
    st->nclass = k->task == RL_TASK_BINARY ? 2 : nclass;
    st->nfeat = cols;
    st->m.param.solver_type = param->solver_type;
    st->m.nr_class = lm->nr_class;
    st->m.nr_feature = lm->nr_feature;
    st->m.bias = lm->bias;
    size_t nw = weight_count(lm->nr_class, lm->nr_feature, lm->bias);
    st->m.label = rl_malloc((size_t)lm->nr_class * sizeof *st->m.label);
    st->m.w = rl_malloc(nw * sizeof *st->m.w);
    if (!st->m.label || !st->m.w) goto oom;
    memcpy(st->m.label, lm->label, (size_t)lm->nr_class * sizeof *st->m.label);
    memcpy(st->m.w, lm->w, nw * sizeof *st->m.w);
    if (normalize) fold_scaling(&st->m, &sc);
    if ((rc = make_slots(st, err))) goto fail;
    *state = st;
    st = NULL;
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory training %s", k->name);
fail:
    ll_free(st);
done:
    if (lm) free_and_destroy_model(&lm);
    rl_free(pool);
    rl_free(rows);
    rl_free(ly);
    rl_free(mean);
    rl_free(scale);
    return rc;
}

/* ---- logistic regression ---- */

enum { LR_TOL, LR_L1, LR_L2, LR_INTERCEPT, LR_SEED, LR_COUNT };

static const rl_param_spec LOGISTIC[LR_COUNT] = {
    {"optimization-tolerance", RL_PARAM_DOUBLE, 1e-4, 1e-15, 1, NULL,
     "stopping tolerance of the solver (liblinear eps)"},
    {"l1-regularization-weight", RL_PARAM_DOUBLE, 0, 0, 1e9, NULL,
     "L1 penalty; > 0 selects the L1 solver, C = 1/l1 (l2 must be 0)"},
    {"l2-regularization-weight", RL_PARAM_DOUBLE, 1, 0, 1e9, NULL, "L2 penalty, C = 1/l2"},
    {"include-intercept", RL_PARAM_BOOL, 1, 0, 1, NULL,
     "fit an intercept (liblinear bias 1, regularized like the weights)"},
    {"random-number-seed", RL_PARAM_INT, 0, 0, 2147483647, NULL,
     "seed of the L1 solver's shuffling"},
};

static int lr_train(const rl_learner_kind *k, const rl_params *p, const rl_matrix *x,
                    const double *y, int nclass, void **state, rl_error *err)
{
    double l1 = p->v[LR_L1], l2 = p->v[LR_L2];
    if (l1 > 0 && l2 > 0)
        return rl_error_set(err, RL_EINVAL,
                            "%s: l1-regularization-weight and l2-regularization-weight are both "
                            "above 0, and liblinear cannot combine them; set one of them to 0",
                            k->name);
    if (l1 == 0 && l2 == 0)
        return rl_error_set(err, RL_EINVAL,
                            "%s: l1-regularization-weight and l2-regularization-weight are both "
                            "0; liblinear needs one of them above 0 (try l2 1)",
                            k->name);
    struct parameter param;
    memset(&param, 0, sizeof param);
    param.solver_type = l1 > 0 ? L1R_LR : L2R_LR;
    param.C = 1 / (l1 > 0 ? l1 : l2);
    param.eps = p->v[LR_TOL];
    param.p = 0.1;
    return ll_train(k, &param, p->v[LR_INTERCEPT] ? 1 : -1, 0, (unsigned)p->v[LR_SEED], x, y,
                    nclass, state, err);
}

static int lr2_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                     void **state, rl_error *err)
{
    return lr_train(&rl_two_class_logistic_regression, p, x, y, nclass, state, err);
}

static int lrm_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                     void **state, rl_error *err)
{
    return lr_train(&rl_multiclass_logistic_regression, p, x, y, nclass, state, err);
}

static int lr2_load(const rl_params *p, int nclass, const void *data, size_t len, void **state,
                    rl_error *err)
{
    (void)p;
    return ll_load(&rl_two_class_logistic_regression, nclass, data, len, state, err);
}

static int lrm_load(const rl_params *p, int nclass, const void *data, size_t len, void **state,
                    rl_error *err)
{
    (void)p;
    return ll_load(&rl_multiclass_logistic_regression, nclass, data, len, state, err);
}

const rl_learner_kind rl_two_class_logistic_regression = {
    "two-class-logistic-regression",
    "Two-Class Logistic Regression",
    RL_TASK_BINARY,
    "liblinear",
    LOGISTIC,
    LR_COUNT,
    lr2_train,
    ll_predict,
    ll_save,
    lr2_load,
    ll_free,
    0,
};

const rl_learner_kind rl_multiclass_logistic_regression = {
    "multiclass-logistic-regression",
    "Multiclass Logistic Regression",
    RL_TASK_MULTICLASS,
    "liblinear",
    LOGISTIC,
    LR_COUNT,
    lrm_train,
    ll_predict,
    ll_save,
    lrm_load,
    ll_free,
    0,
};

/* ---- support vector machine ---- */

enum { SVM_COST, SVM_TOL, SVM_INTERCEPT, SVM_NORMALIZE, SVM_SOLVER, SVM_SEED, SVM_COUNT };

static const char *const SVM_SOLVERS[] = {"auto", "primal", "dual", NULL};

static const rl_param_spec SVM[SVM_COUNT] = {
    {"cost", RL_PARAM_DOUBLE, 1, 1e-12, 1e12, NULL,
     "C: weight of the squared hinge loss against the L2 penalty"},
    {"optimization-tolerance", RL_PARAM_DOUBLE, 1e-4, 1e-15, 1, NULL,
     "stopping tolerance of the dual solver (liblinear eps)"},
    {"include-intercept", RL_PARAM_BOOL, 1, 0, 1, NULL,
     "fit an intercept (liblinear bias 1, regularized like the weights)"},
    {"normalize-features", RL_PARAM_BOOL, 1, 0, 1, NULL,
     "train on standardized features (mean 0 with an intercept, deviation 1)"},
    {"solver", RL_PARAM_ENUM, 0, 0, 2, SVM_SOLVERS,
     "auto: primal when rows >= features, else dual (same problem, same optimum)"},
    {"random-number-seed", RL_PARAM_INT, 0, 0, 2147483647, NULL,
     "seed of the dual solver's shuffling"},
};

static int svm_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                     void **state, rl_error *err)
{
    struct parameter param;
    memset(&param, 0, sizeof param);
    int solver = (int)p->v[SVM_SOLVER]; /* 0 auto, 1 primal, 2 dual */
    if (solver == 0) solver = x->rows >= x->cols ? 1 : 2;
    param.solver_type = solver == 1 ? L2R_L2LOSS_SVC : L2R_L2LOSS_SVC_DUAL;
    param.C = p->v[SVM_COST];
    param.eps = p->v[SVM_TOL];
    param.p = 0.1;
    return ll_train(&rl_two_class_support_vector_machine, &param, p->v[SVM_INTERCEPT] ? 1 : -1,
                    p->v[SVM_NORMALIZE] != 0, (unsigned)p->v[SVM_SEED], x, y, nclass, state, err);
}

static int svm_load(const rl_params *p, int nclass, const void *data, size_t len, void **state,
                    rl_error *err)
{
    (void)p;
    return ll_load(&rl_two_class_support_vector_machine, nclass, data, len, state, err);
}

const rl_learner_kind rl_two_class_support_vector_machine = {
    "two-class-support-vector-machine",
    "Two-Class Support Vector Machine",
    RL_TASK_BINARY,
    "liblinear",
    SVM,
    SVM_COUNT,
    svm_train,
    ll_predict,
    ll_save,
    svm_load,
    ll_free,
    0,
};
