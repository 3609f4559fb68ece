/* normalize.c - Normalize Data: rescale numeric columns.
 *
 * zscore maps x to (x - mean) / std with the population standard deviation
 * (ddof = 0, as scikit-learn's StandardScaler); minmax maps x to
 * (x - min) / (max - min). A constant column (all present values equal) maps
 * to 0 under both. Missing values stay missing and do not count in the
 * parameters. The default columns are the numeric columns that are neither the
 * label nor scores; selecting a column of another type is an error naming it,
 * as is a column without any value.
 * Applying rescales by name with the fitted parameters; a column of another
 * type than at fit time is converted to numeric first (rl_column_convert); a
 * fitted column a later table lacks is skipped when it was the label at fit
 * time, else RL_ESCHEMA.
 *
 * Ownership: the state belongs to its transform. Thread safety: apply() only
 * reads the state.
 */
#include "base/mem.h"
#include "modules/columns.h"
#include "modules/transform_impl.h"

#include <math.h>
#include <string.h>

#define MODULE "Normalize Data"

enum { N_ZSCORE, N_MINMAX };

static const char *const keys[] = {"columns", "transformation-method", NULL};
static const char *const methods[] = {"zscore", "minmax", NULL};

typedef struct norm_col {
    char *name;
    double a, b; /* zscore: mean, std; minmax: min, max */
} norm_col;

typedef struct norm_state {
    int method;
    char *label;
    norm_col *cols;
    size_t n;
} norm_state;

static void norm_free(void *p)
{
    norm_state *s = p;
    if (!s) return;
    for (size_t i = 0; i < s->n; i++)
        rl_free(s->cols[i].name);
    rl_free(s->cols);
    rl_free(s->label);
    rl_free(s);
}

static void norm_parse(const json_t *params, norm_state *s, rl_problems *p)
{
    rl_params_check_keys(params, MODULE, keys, p);
    rl_param_selector(params, MODULE, "columns", 0, p);
    s->method = rl_param_enum(params, MODULE, "transformation-method", methods, N_ZSCORE, p);
}

static void norm_check(const json_t *params, rl_problems *p)
{
    norm_state s;
    memset(&s, 0, sizeof s);
    norm_parse(params, &s, p);
}

static int norm_state_new(const json_t *params, norm_state **out, rl_error *err)
{
    rl_problems p;
    rl_problems_init(&p);
    norm_state *s = rl_calloc(1, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    norm_parse(params, s, &p);
    int rc = rl_problems_finish(&p, err);
    if (rc) {
        norm_free(s);
        return rc;
    }
    *out = s;
    return RL_OK;
}

/* Learns nc's parameters from c; 1 when c has no value. */
static int fit_column(int method, const rl_column *c, norm_col *nc)
{
    size_t n = 0;
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < c->nrows; i++) {
        double v = c->num[i];
        if (isnan(v)) continue;
        n++;
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    if (n == 0) return 1;
    if (method == N_MINMAX) {
        nc->a = lo;
        nc->b = hi;
        return 0;
    }
    if (lo == hi) { /* constant: rounding must not make a tiny std */
        nc->a = lo;
        nc->b = 0;
        return 0;
    }
    double mean = sum / (double)n, ss = 0;
    if (!isfinite(mean)) { /* the sum overflowed */
        mean = 0;
        for (size_t i = 0; i < c->nrows; i++)
            if (!isnan(c->num[i])) mean += c->num[i] / (double)n;
    }
    for (size_t i = 0; i < c->nrows; i++)
        if (!isnan(c->num[i])) ss += (c->num[i] - mean) * (c->num[i] - mean);
    if (isfinite(ss)) {
        nc->a = mean;
        nc->b = sqrt(ss / (double)n);
        return 0;
    }
    /* The squares overflowed: scale the deviations by the largest first. */
    double big = 0;
    for (size_t i = 0; i < c->nrows; i++)
        if (!isnan(c->num[i]) && fabs(c->num[i] - mean) > big) big = fabs(c->num[i] - mean);
    ss = 0;
    for (size_t i = 0; i < c->nrows; i++) {
        if (isnan(c->num[i])) continue;
        double d = (c->num[i] - mean) / big;
        ss += d * d;
    }
    nc->a = mean;
    nc->b = big * sqrt(ss / (double)n);
    return 0;
}

static int norm_fit(const json_t *params, const rl_table *in, void **out, rl_error *err)
{
    norm_state *s = NULL;
    size_t *idx = NULL, n = 0;
    rl_problems p;
    rl_problems_init(&p);
    int rc = norm_state_new(params, &s, err);
    if (rc) return rc;
    const json_t *sel = rl_param_get(params, "columns");
    if (sel) {
        rc = rl_columns_select(sel, in, &idx, &n, err);
        if (rc) {
            rl_error_wrap(err, MODULE ": param \"columns\"");
            goto fail;
        }
    } else {
        if (!(idx = rl_malloc((rl_table_ncols(in) + 1) * sizeof *idx))) goto oom;
        for (size_t j = 0; j < rl_table_ncols(in); j++) {
            const rl_column *c = rl_table_col(in, j);
            if (c->type == RL_TYPE_NUMERIC && !(c->flags & (RL_COL_LABEL | RL_COL_SCORE)))
                idx[n++] = j;
        }
    }
    if (!(s->cols = rl_calloc(n ? n : 1, sizeof *s->cols))) goto oom;
    for (size_t k = 0; k < n; k++) {
        const rl_column *c = rl_table_col(in, idx[k]);
        if (c->type != RL_TYPE_NUMERIC) {
            rl_problems_add(&p, RL_ESCHEMA,
                            MODULE ": column '%s' is %s; only numeric columns can be normalized, "
                                   "so leave it out of \"columns\" (or make it numeric with Edit "
                                   "Metadata)",
                            c->name, rl_type_name(c->type));
            continue;
        }
        norm_col *nc = &s->cols[s->n++];
        if (!(nc->name = rl_strdup(c->name))) goto oom;
        if (fit_column(s->method, c, nc))
            rl_problems_add(&p, RL_ESCHEMA,
                            MODULE ": column '%s' has no values to learn its scale from; leave it "
                                   "out of \"columns\" or fill it with Clean Missing Data first",
                            c->name);
    }
    rc = rl_problems_finish(&p, err);
    if (rc) goto fail;
    if (rl_strdup_opt(rl_table_label_name(in), &s->label)) goto oom;
    rl_free(idx);
    *out = s;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(idx);
    norm_free(s);
    return rc;
}

static int scale_column(int method, const norm_col *nc, rl_column *c, rl_column **out,
                        rl_error *err)
{
    rl_column *src = NULL, *dst = NULL;
    int rc;
    if (c->type != RL_TYPE_NUMERIC) {
        rc = rl_column_convert(c, RL_TYPE_NUMERIC, &src, err);
        if (rc) {
            rl_error_wrap(err,
                          MODULE ": column '%s' was numeric when the module was fitted and "
                                 "is %s now",
                          c->name, rl_type_name(c->type));
            return rc;
        }
    } else {
        src = rl_column_ref(c);
    }
    if (!(dst = rl_column_new(src->name, RL_TYPE_NUMERIC, src->nrows))) {
        rl_column_unref(src);
        return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory scaling column '%s'", c->name);
    }
    dst->flags = src->flags;
    double shift = nc->a;
    double scale = method == N_ZSCORE ? nc->b : nc->b - nc->a;
    for (size_t i = 0; i < src->nrows; i++) {
        double v = src->num[i];
        if (isnan(v)) continue; /* stays missing */
        dst->num[i] = scale == 0 ? 0.0 : (v - shift) / scale;
    }
    rl_column_unref(src);
    *out = dst;
    return RL_OK;
}

static int norm_apply(const void *state, const rl_table *in, rl_table **out, rl_error *err)
{
    const norm_state *s = state;
    char **names = rl_malloc((s->n ? s->n : 1) * sizeof *names);
    long *idx = rl_malloc((s->n ? s->n : 1) * sizeof *idx);
    rl_table *t = NULL;
    int rc;
    if (!names || !idx) goto oom;
    for (size_t i = 0; i < s->n; i++)
        names[i] = s->cols[i].name;
    rc = rl_columns_find_fitted(MODULE, names, s->n, s->label, in, idx, err);
    if (rc) goto fail;
    if (!(t = rl_table_dup(in))) goto oom;
    for (size_t i = 0; i < s->n; i++) {
        if (idx[i] < 0) continue;
        rl_column *nc = NULL;
        rc = scale_column(s->method, &s->cols[i], rl_table_col(in, (size_t)idx[i]), &nc, err);
        if (rc) goto fail;
        rc = rl_table_set(t, (size_t)idx[i], nc, err);
        if (rc) goto fail;
    }
    rl_free(names);
    rl_free(idx);
    *out = t;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(names);
    rl_free(idx);
    rl_table_free(t);
    return rc;
}

static json_t *norm_save(const void *state)
{
    const norm_state *s = state;
    const char *ka = s->method == N_ZSCORE ? "mean" : "min";
    const char *kb = s->method == N_ZSCORE ? "std" : "max";
    json_t *cols = json_array();
    if (!cols) return NULL;
    for (size_t i = 0; i < s->n; i++) {
        json_t *o = json_object();
        if (json_array_append_new(cols, o) ||
            rl_json_set(o, "name", json_string(s->cols[i].name)) ||
            rl_json_set(o, ka, rl_json_double(s->cols[i].a)) ||
            rl_json_set(o, kb, rl_json_double(s->cols[i].b)))
            goto fail;
    }
    return rl_state_save(cols, s->label);
fail:
    json_decref(cols);
    return NULL;
}

static int norm_load(const json_t *params, const json_t *j, void **out, rl_error *err)
{
    norm_state *s = NULL;
    int rc = norm_state_new(params, &s, err);
    if (rc) return rc;
    const char *ka = s->method == N_ZSCORE ? "mean" : "min";
    const char *kb = s->method == N_ZSCORE ? "std" : "max";
    const json_t *cols = json_object_get(j, "columns"), *label = json_object_get(j, "label");
    if (!json_is_array(cols) || (label && !json_is_null(label) && !json_is_string(label))) {
        rc = rl_error_set(err, RL_EFORMAT,
                          MODULE " state: needs a \"columns\" list and a \"label\" (string or "
                                 "null); the model file is corrupt");
        goto fail;
    }
    size_t n = json_array_size(cols);
    if (!(s->cols = rl_calloc(n ? n : 1, sizeof *s->cols))) goto oom;
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(cols, i), *name = json_object_get(o, "name");
        norm_col *nc = &s->cols[i];
        if (!json_is_string(name) || rl_json_get_double(json_object_get(o, ka), &nc->a) ||
            rl_json_get_double(json_object_get(o, kb), &nc->b)) {
            rc = rl_error_set(err, RL_EFORMAT,
                              MODULE " state: column %zu needs \"name\", \"%s\" and \"%s\"; the "
                                     "model file is corrupt",
                              i + 1, ka, kb);
            goto fail;
        }
        if (!(nc->name = rl_strdup(json_string_value(name)))) goto oom;
        s->n++;
    }
    if (rl_strdup_opt(json_string_value(label), &s->label)) goto oom;
    *out = s;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    norm_free(s);
    return rc;
}

const rl_transform_kind rl_normalize_kind = {
    .module = MODULE,
    .check = norm_check,
    .fit = norm_fit,
    .apply = norm_apply,
    .save = norm_save,
    .load = norm_load,
    .free = norm_free,
};
