/* linreg.c - linear regression by least squares, on LAPACK (the only file
 * that includes LAPACKE).
 *
 * The model minimizes
 *     sum_i (y_i - b - x_i . w)^2 + l2 * ||w||^2
 * (l2 = l2-regularization-weight; the intercept b, fitted when
 * include-intercept is true, is not penalized). With an intercept, x and y are
 * centered on their means, w solves the centered problem and
 * b = mean(y) - mean(x) . w, which is the same minimizer.
 *
 * Peer mapping: scikit-learn Ridge(alpha=l2, fit_intercept=INTERCEPT) -- the
 * same objective, sums not means; for l2 = 0, LinearRegression(
 * fit_intercept=INTERCEPT), including its minimum-norm answer for a
 * rank-deficient design. Measured (800 x 6 synthetic, l2 0, 0.001, 10):
 * coefficients and predictions agree to ~1e-14.
 *
 * Solution, with l2 > 0: the normal equations (X'X + l2 I) w = X'y on the
 * centered data, as Ridge's Cholesky solver has them: [X | y]'[X | y]
 * accumulated with dsyrk over blocks of BLOCK rows, then dpotrf/dpotrs. The
 * penalty bounds the condition number (about ||X||^2 / l2), and a failed
 * factorization falls back to the QR below.
 *
 * Otherwise (l2 = 0, or that fallback): a QR factorization of [X | y] streamed in
 * blocks of BLOCK rows (the "tall skinny" QR): the current (d+1) x (d+1)
 * triangle R is stacked on the next block and refactored with dgeqrf, so
 * memory stays O(d * (d + BLOCK)) whatever the number of rows, and accuracy is
 * that of QR (no normal equations, whose condition number is squared). The
 * ridge penalty enters as d more rows sqrt(l2) * I with target 0. At the end
 * R = [R_a z; 0 r] and w solves R_a w = z: by triangular solve (dtrtrs) when
 * l2 > 0, which makes R_a non-singular, else by dgelsd, whose minimum-norm
 * solution with rcond = eps * max(n, d) handles collinear or constant
 * columns.
 *
 * Missing values (NAN) are read as 0 in training and prediction.
 *
 * Payload (common.h envelope), little-endian:
 *   u32 has_intercept, u64 nfeat, f64 intercept, f64 w[nfeat]
 *
 * Threads: train and load are reentrant; predict only reads the state.
 */
#include "learners/common.h"
#include "learners/learner.h"
#include "base/mem.h"

#include <cblas.h>
#include <lapacke.h>

#include <float.h>
#include <math.h>
#include <string.h>

#define BLOCK 1024
#define MAX_FEATURES 16384

typedef struct lr_state {
    size_t nfeat;
    int has_intercept;
    double intercept;
    double *w;
} lr_state;

static void lin_free(void *state)
{
    lr_state *st = state;
    if (!st) return;
    rl_free(st->w);
    rl_free(st);
}

static int lin_predict(const void *state, const rl_matrix *x, double *out, rl_error *err)
{
    const lr_state *st = state;
    int rc = rl_learner_check_predict(x, st->nfeat, err);
    if (rc) return rc;
    for (size_t i = 0; i < x->rows; i++) {
        const double *row = x->data + i * x->cols;
        double s = st->intercept;
        for (size_t j = 0; j < st->nfeat; j++)
            if (!isnan(row[j])) s += st->w[j] * row[j];
        out[i] = s;
    }
    return RL_OK;
}

static int lin_save(const void *state, rl_buf *out, rl_error *err)
{
    const lr_state *st = state;
    size_t mark = out->len;
    int rc = rl_wire_begin(out, RL_WIRE_TAG_LINREG, &mark);
    if (!rc) rc = rl_wire_put_u32(out, (uint32_t)st->has_intercept);
    if (!rc) rc = rl_wire_put_u64(out, st->nfeat);
    if (!rc) rc = rl_wire_put_f64(out, st->intercept);
    if (!rc) rc = rl_wire_put_f64s(out, st->w, st->nfeat);
    if (rc) {
        out->len = mark;
        return rl_error_set(err, RL_ENOMEM, "out of memory saving a linear regression model");
    }
    rl_wire_end(out, mark);
    return RL_OK;
}

static int lin_load(const rl_params *p, int nclass, const void *data, size_t len, void **state,
                    rl_error *err)
{
    (void)p;
    (void)nclass;
    static const char what[] = "linear regression model";
    rl_wire_reader r;
    int rc = rl_wire_open(data, len, RL_WIRE_TAG_LINREG, what, &r, err);
    if (rc) return rc;
    uint32_t has = rl_wire_get_u32(&r);
    uint64_t nfeat = rl_wire_get_u64(&r);
    double b = rl_wire_get_f64(&r);
    if (r.bad) return rl_wire_close(&r, what, err);
    if (has > 1 || nfeat == 0 || nfeat > MAX_FEATURES || nfeat != rl_wire_left(&r) / 8 ||
        !isfinite(b) || (!has && b != 0))
        return rl_wire_corrupt(err, what, "impossible sizes or intercept");
    lr_state *st = rl_calloc(1, sizeof *st);
    if (!st || !(st->w = rl_malloc((size_t)nfeat * sizeof *st->w))) {
        lin_free(st);
        return rl_error_set(err, RL_ENOMEM, "out of memory loading a linear regression model");
    }
    st->nfeat = (size_t)nfeat;
    st->has_intercept = (int)has;
    st->intercept = b;
    rl_wire_get_f64s(&r, st->w, st->nfeat);
    rc = rl_wire_close(&r, what, err);
    for (size_t j = 0; !rc && j < st->nfeat; j++)
        if (!isfinite(st->w[j])) rc = rl_wire_corrupt(err, what, "a weight is not finite");
    if (rc) {
        lin_free(st);
        return rc;
    }
    *state = st;
    return RL_OK;
}

/* ---- training ---- */

/* The streaming QR: a column-major (d1 + BLOCK) x d1 work matrix whose first
 * d1 rows hold R and whose next rows take a block of new rows. */
typedef struct tsqr {
    size_t d1, ld;
    double *a, *tau;
} tsqr;

/* Folds rows d1 .. d1+k-1 of q->a into R. */
static int tsqr_fold(tsqr *q, size_t k, rl_error *err)
{
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)(q->d1 + k), (lapack_int)q->d1,
                                     q->a, (lapack_int)q->ld, q->tau);
    if (info != 0)
        return rl_error_set(err, info < 0 ? RL_EINTERNAL : RL_ENOMEM,
                            "LAPACK dgeqrf failed (info %d) in linear regression", (int)info);
    for (size_t c = 0; c < q->d1; c++) /* keep R: clear the reflectors below it */
        for (size_t r = c + 1; r < q->d1; r++)
            q->a[r + c * q->ld] = 0;
    return RL_OK;
}

enum { LIN_L2, LIN_INTERCEPT, LIN_COUNT };

static const rl_param_spec LINEAR[LIN_COUNT] = {
    {"l2-regularization-weight", RL_PARAM_DOUBLE, 0.001, 0, 1e9, NULL,
     "ridge penalty l2 * ||w||^2 on the weights (not the intercept)"},
    {"include-intercept", RL_PARAM_BOOL, 1, 0, 1, NULL, "fit an unpenalized intercept"},
};

static int lin_train(const rl_params *p, const rl_matrix *x, const double *y, int nclass,
                     void **state, rl_error *err)
{
    const rl_learner_kind *k = &rl_linear_regression;
    int rc = rl_learner_check_train(k, x, y, nclass, err);
    if (rc) return rc;
    size_t n = x->rows, d = x->cols, d1 = d + 1;
    if (d > MAX_FEATURES)
        return rl_error_set(err, RL_ETOOBIG,
                            "linear regression takes at most %d feature columns, got %zu; use "
                            "fewer columns or fewer text levels",
                            MAX_FEATURES, d);
    double l2 = p->v[LIN_L2];
    int intercept = p->v[LIN_INTERCEPT] != 0;
    tsqr q = {d1, d1 + BLOCK, NULL, NULL};
    double *mean = rl_calloc(d1, sizeof *mean), *r = NULL, *sv = NULL, *g = NULL;
    lr_state *st = NULL;
    q.a = rl_calloc(q.ld * d1, sizeof *q.a);
    q.tau = rl_malloc(d1 * sizeof *q.tau);
    if (!mean || !q.a || !q.tau) goto oom;
    if (intercept) {
        for (size_t i = 0; i < n; i++) {
            const double *row = x->data + i * d;
            for (size_t j = 0; j < d; j++)
                if (!isnan(row[j])) mean[j] += row[j];
            mean[d] += y[i];
        }
        for (size_t j = 0; j < d1; j++)
            mean[j] /= (double)n;
    }
    /* With l2 > 0, first the normal equations (Xc'Xc + l2 I) w = Xc'yc, as
     * Ridge's Cholesky solver has them: [Xc | yc]'[Xc | yc] accumulated over
     * the same blocks (dsyrk: a quarter of the QR's work, and level-3 BLAS),
     * then Cholesky. The penalty keeps the matrix positive definite; should
     * the factorization still fail (its condition lost to rounding), the QR
     * below solves it instead. */
    int normal = l2 > 0;
    if (normal && !(g = rl_calloc(d1 * d1, sizeof *g))) goto oom;
stream:
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t kk = n - i0 < BLOCK ? n - i0 : BLOCK;
        for (size_t i = 0; i < kk; i++) {
            const double *row = x->data + (i0 + i) * d;
            double *a = q.a + d1 + i;
            for (size_t j = 0; j < d; j++)
                a[j * q.ld] = (isnan(row[j]) ? 0 : row[j]) - mean[j];
            a[d * q.ld] = y[i0 + i] - mean[d];
        }
        if (normal)
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)d1, (int)kk, 1.0, q.a + d1,
                        (int)q.ld, 1.0, g, (int)d1);
        else if ((rc = tsqr_fold(&q, kk, err)))
            goto fail;
    }
    if (normal) {
        for (size_t j = 0; j < d; j++)
            g[j + j * d1] += l2;
        if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)d, g, (lapack_int)d1) == 0) {
            if (!(st = rl_calloc(1, sizeof *st)) || !(st->w = rl_malloc(d * sizeof *st->w)))
                goto oom;
            memcpy(st->w, g + d * d1, d * sizeof *st->w); /* Xc'yc: column d of the sums */
            if (LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)d, 1, g, (lapack_int)d1, st->w,
                               (lapack_int)d) == 0)
                goto solved;
            lin_free(st);
            st = NULL;
        }
        normal = 0;
        memset(q.a, 0, q.ld * d1 * sizeof *q.a);
        goto stream;
    }
    if (l2 > 0) {
        double s = sqrt(l2);
        for (size_t j0 = 0; j0 < d; j0 += BLOCK) {
            size_t kk = d - j0 < BLOCK ? d - j0 : BLOCK;
            for (size_t c = 0; c < d1; c++)
                memset(q.a + d1 + c * q.ld, 0, kk * sizeof *q.a);
            for (size_t i = 0; i < kk; i++)
                q.a[d1 + i + (j0 + i) * q.ld] = s;
            if ((rc = tsqr_fold(&q, kk, err))) goto fail;
        }
    }
    /* R_a (d x d, column-major) and z = the first d entries of R's last column. */
    if (!(st = rl_calloc(1, sizeof *st)) || !(st->w = rl_malloc(d * sizeof *st->w)) ||
        !(r = rl_malloc(d * d * sizeof *r)))
        goto oom;
    for (size_t c = 0; c < d; c++)
        memcpy(r + c * d, q.a + c * q.ld, d * sizeof *r);
    memcpy(st->w, q.a + d * q.ld, d * sizeof *st->w);
    lapack_int info = 1;
    if (l2 > 0)
        info = LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'U', 'N', 'N', (lapack_int)d, 1, r, (lapack_int)d,
                              st->w, (lapack_int)d);
    if (info != 0) { /* l2 == 0, or R_a singular after all */
        for (size_t c = 0; c < d; c++)
            memcpy(r + c * d, q.a + c * q.ld, d * sizeof *r);
        memcpy(st->w, q.a + d * q.ld, d * sizeof *st->w);
        if (!(sv = rl_malloc(d * sizeof *sv))) goto oom;
        lapack_int rank = 0;
        double rcond = DBL_EPSILON * (double)(n > d ? n : d);
        info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)d, (lapack_int)d, 1, r, (lapack_int)d,
                              st->w, (lapack_int)d, sv, rcond, &rank);
        if (info != 0) {
            rc = rl_error_set(err, RL_ELIB,
                              "LAPACK dgelsd failed (info %d) solving linear regression; the "
                              "data may hold extreme values",
                              (int)info);
            goto fail;
        }
    }
solved:
    st->nfeat = d;
    st->has_intercept = intercept;
    st->intercept = 0;
    if (intercept) {
        double b = mean[d];
        for (size_t j = 0; j < d; j++)
            b -= mean[j] * st->w[j];
        st->intercept = b;
    }
    for (size_t j = 0; j < d; j++)
        if (!isfinite(st->w[j]) || !isfinite(st->intercept)) {
            rc = rl_error_set(err, RL_EINVAL,
                              "linear regression overflowed: the values are too large; "
                              "normalize the data first");
            goto fail;
        }
    *state = st;
    st = NULL;
    goto done;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory training linear regression");
fail:
    lin_free(st);
done:
    rl_free(mean);
    rl_free(q.a);
    rl_free(q.tau);
    rl_free(g);
    rl_free(r);
    rl_free(sv);
    return rc;
}

const rl_learner_kind rl_linear_regression = {
    "linear-regression", "Linear Regression", RL_TASK_REGRESSION, "lapack", LINEAR,   LIN_COUNT,
    lin_train,           lin_predict,         lin_save,           lin_load, lin_free,
    0,
};
