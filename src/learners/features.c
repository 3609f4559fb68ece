/* features.c - the feature layout of a training table, and the matrices built
 * from it (features.h).
 *
 * A layout is a list of input columns, each with its type and its first
 * matrix column. A numeric or boolean column fills one matrix column (missing
 * stays NAN: XGBoost reads NAN as missing; liblinear and linear regression
 * read it as 0, see their files). A string column fills one matrix column per
 * level that occurs in at least one training row, in the order of the levels'
 * codes in the training column (so for a CSV, the order of first appearance);
 * levels only in the column's dictionary (say, seen only in another split)
 * get no column. Its training levels sit in an rl_levels, whose code is the
 * one-hot position.
 *
 * Building a matrix resolves each input column once: its name is looked up in
 * the table, its type converted with rl_column_convert() when it differs from
 * training, and for a string column each level of the table's dictionary is
 * hashed once into a map from the table's codes to one-hot positions. The
 * rows are then filled in blocks that stay in cache, touching each cell once.
 *
 * The JSON form, version 1:
 *   {"version": 1, "dim": D, "columns": [{"name": "age", "type": "numeric"},
 *    {"name": "sex", "type": "string", "levels": ["Male", "Female"]}, ...]}
 * where type is numeric, boolean or string and only strings have levels.
 *
 * Ownership and threads: see features.h; a fitted layout is never written.
 */
#include "learners/features.h"
#include "base/mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FEATURES_VERSION 1
#define BLOCK_ROWS 256

typedef struct fcol {
    char *name;
    rl_type type;
    size_t offset;     /* first matrix column */
    size_t width;      /* matrix columns: 1, or the number of training levels */
    rl_levels *levels; /* STRING: training levels; code i is matrix column offset + i */
} fcol;

struct rl_features {
    size_t ncols, dim;
    fcol *cols;
};

void rl_features_free(rl_features *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->ncols; i++) {
        rl_free(f->cols[i].name);
        rl_levels_free(f->cols[i].levels);
    }
    rl_free(f->cols);
    rl_free(f);
}

size_t rl_features_dim(const rl_features *f)
{
    return f->dim;
}

size_t rl_features_ncols(const rl_features *f)
{
    return f->ncols;
}

const char *rl_features_col_name(const rl_features *f, size_t i)
{
    return f->cols[i].name;
}

rl_type rl_features_col_type(const rl_features *f, size_t i)
{
    return f->cols[i].type;
}

/* Whether s[0..n) can become a JSON string (valid UTF-8). jansson checks it. */
static int json_text_ok(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

/* The levels of string column c that occur in its rows, in code order. */
static int fit_levels(const rl_column *c, rl_levels **out, rl_error *err)
{
    size_t nl = rl_levels_count(c->levels);
    unsigned char *seen = rl_calloc(nl ? nl : 1, 1);
    rl_levels *lv = rl_levels_new();
    int rc = RL_OK;
    if (!seen || !lv) goto oom;
    for (size_t i = 0; i < c->nrows; i++)
        if (c->codes[i] >= 0) seen[c->codes[i]] = 1;
    for (size_t code = 0; code < nl; code++) {
        if (!seen[code]) continue;
        const char *s = rl_levels_get(c->levels, (int32_t)code);
        size_t n = rl_levels_len(c->levels, (int32_t)code);
        if (!json_text_ok(s, n)) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              "column '%s': level %zu is not valid UTF-8 text; save the data "
                              "as UTF-8",
                              c->name, code + 1);
            goto fail;
        }
        if (rl_levels_intern(lv, s, n) < 0) goto oom;
    }
    rl_free(seen);
    *out = lv;
    return RL_OK;
oom:
    rc =
        rl_error_set(err, RL_ENOMEM, "out of memory collecting the levels of column '%s'", c->name);
fail:
    rl_free(seen);
    rl_levels_free(lv);
    return rc;
}

int rl_features_fit(const rl_table *t, const char *label, rl_features **out, rl_error *err)
{
    size_t nt = rl_table_ncols(t);
    rl_features *f = rl_calloc(1, sizeof *f);
    int rc = RL_OK;
    if (!f || !(f->cols = rl_calloc(nt ? nt : 1, sizeof *f->cols))) goto oom;
    for (size_t j = 0; j < nt; j++) {
        const rl_column *c = rl_table_col(t, j);
        if ((label && strcmp(c->name, label) == 0) || (c->flags & RL_COL_SCORE)) continue;
        if (!json_text_ok(c->name, strlen(c->name))) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              "column %zu: its name is not valid UTF-8 text; "
                              "save the data as UTF-8",
                              j + 1);
            goto fail;
        }
        fcol *fc = &f->cols[f->ncols];
        if (!(fc->name = rl_strdup(c->name))) goto oom;
        f->ncols++;
        fc->type = c->type;
        fc->offset = f->dim;
        fc->width = 1;
        if (c->type == RL_TYPE_STRING) {
            if ((rc = fit_levels(c, &fc->levels, err))) goto fail;
            fc->width = rl_levels_count(fc->levels);
        }
        f->dim += fc->width;
    }
    if (f->dim == 0) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          "no feature columns: every column is the label%s, a score column or "
                          "a text column with no values; add feature columns to the data",
                          label ? "" : " (none given)");
        goto fail;
    }
    *out = f;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, "out of memory fitting the feature layout");
fail:
    rl_features_free(f);
    return rc;
}

/* ---- matrices ---- */

/* One input column resolved against a table. */
typedef struct src {
    rl_column *col; /* a reference: the table's column or its conversion */
    int32_t *map;   /* STRING: the table's code -> one-hot position, -1 when unseen */
} src;

static int resolve(const fcol *fc, const rl_table *t, src *s, rl_error *err)
{
    long idx = rl_table_find(t, fc->name);
    if (idx < 0)
        return rl_error_set(err, RL_ESCHEMA,
                            "feature column '%s' is missing from the data; the model was "
                            "trained with it, so the data must have it (%s)",
                            fc->name, rl_type_name(fc->type));
    rl_column *c = rl_table_col(t, (size_t)idx);
    if (c->type == fc->type) {
        s->col = rl_column_ref(c);
    } else if (rl_column_convert(c, fc->type, &s->col, err)) {
        return rl_error_wrap(err, "feature column '%s' was %s in training and is %s here", fc->name,
                             rl_type_name(fc->type), rl_type_name(c->type));
    }
    if (fc->type != RL_TYPE_STRING) return RL_OK;
    const rl_levels *lv = s->col->levels;
    size_t nl = rl_levels_count(lv);
    if (!(s->map = rl_malloc((nl ? nl : 1) * sizeof *s->map)))
        return rl_error_set(err, RL_ENOMEM, "out of memory mapping the levels of column '%s'",
                            fc->name);
    for (size_t code = 0; code < nl; code++)
        s->map[code] = rl_levels_find(fc->levels, rl_levels_get(lv, (int32_t)code),
                                      rl_levels_len(lv, (int32_t)code));
    return RL_OK;
}

int rl_features_fill(const rl_features *f, const rl_table *t, size_t first, size_t count,
                     double *data, rl_error *err)
{
    size_t dim = f->dim;
    int rc = RL_OK;
    if (first > rl_table_nrows(t) || count > rl_table_nrows(t) - first)
        return rl_error_set(err, RL_EINVAL, "rows %zu..%zu are past the table's %zu rows", first,
                            first + count, rl_table_nrows(t));
    src *s = rl_calloc(f->ncols, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, "out of memory building the feature matrix");
    for (size_t j = 0; j < f->ncols; j++)
        if ((rc = resolve(&f->cols[j], t, &s[j], err))) goto done;
    memset(data, 0, count * dim * sizeof *data);
    for (size_t b0 = 0; b0 < count; b0 += BLOCK_ROWS) {
        size_t b1 = count - b0 < BLOCK_ROWS ? count : b0 + BLOCK_ROWS;
        for (size_t j = 0; j < f->ncols; j++) {
            const fcol *fc = &f->cols[j];
            double *cell = data + fc->offset;
            if (fc->type == RL_TYPE_STRING) {
                const int32_t *codes = s[j].col->codes + first, *map = s[j].map;
                for (size_t r = b0; r < b1; r++) {
                    int32_t code = codes[r];
                    int32_t pos = code >= 0 ? map[code] : -1;
                    if (pos >= 0) cell[r * dim + (size_t)pos] = 1.0;
                }
            } else {
                const double *num = s[j].col->num + first;
                for (size_t r = b0; r < b1; r++)
                    cell[r * dim] = num[r];
            }
        }
    }
done:
    for (size_t j = 0; j < f->ncols; j++) {
        rl_column_unref(s[j].col);
        rl_free(s[j].map);
    }
    rl_free(s);
    return rc;
}

int rl_features_matrix(const rl_features *f, const rl_table *t, rl_matrix *out, rl_error *err)
{
    size_t n = rl_table_nrows(t), dim = f->dim;
    double *data = NULL;
    if (n && dim > SIZE_MAX / sizeof(double) / n)
        return rl_error_set(err, RL_ETOOBIG, "%zu rows x %zu features do not fit in memory", n,
                            dim);
    if (!(data = rl_malloc((n * dim + 1) * sizeof *data)))
        return rl_error_set(err, RL_ENOMEM,
                            "out of memory building the %zu x %zu feature matrix (%zu MiB)", n,
                            dim, n * dim / (131072));
    int rc = rl_features_fill(f, t, 0, n, data, err);
    if (rc) {
        rl_free(data);
        return rc;
    }
    out->rows = n;
    out->cols = dim;
    out->data = data;
    return RL_OK;
}

/* ---- JSON ---- */

json_t *rl_features_to_json(const rl_features *f)
{
    json_t *cols = json_array();
    json_t *o = json_pack("{s:i, s:I, s:o}", "version", FEATURES_VERSION, "dim", (json_int_t)f->dim,
                          "columns", cols);
    if (!o) return NULL;
    for (size_t j = 0; j < f->ncols; j++) {
        const fcol *fc = &f->cols[j];
        json_t *c = json_pack("{s:s, s:s}", "name", fc->name, "type", rl_type_name(fc->type));
        if (json_array_append_new(cols, c)) goto fail;
        if (fc->type != RL_TYPE_STRING) continue;
        json_t *lv = json_array();
        if (json_object_set_new(c, "levels", lv)) goto fail;
        for (size_t i = 0; i < fc->width; i++)
            if (json_array_append_new(lv, json_stringn(rl_levels_get(fc->levels, (int32_t)i),
                                                       rl_levels_len(fc->levels, (int32_t)i))))
                goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static int bad_json(rl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad_json(rl_error *err, const char *fmt, ...)
{
    char detail[RL_ERROR_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return rl_error_set(err, RL_EFORMAT,
                        "the model's feature layout is damaged: %s; restore the model file "
                        "from a copy or train the model again",
                        detail);
}

static int type_from_name(const char *s, rl_type *t)
{
    static const rl_type types[] = {RL_TYPE_NUMERIC, RL_TYPE_BOOLEAN, RL_TYPE_STRING};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(s, rl_type_name(types[i])) == 0) {
            *t = types[i];
            return 1;
        }
    return 0;
}

static int column_from_json(const json_t *jc, fcol *fc, rl_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)jc, key,
                        v) if (strcmp(key, "name") != 0 && strcmp(key, "type") != 0 &&
                               strcmp(key, "levels") !=
                                   0) return bad_json(err, "unknown key '%s' in a column", key);
    const json_t *name = json_object_get(jc, "name"), *type = json_object_get(jc, "type");
    const json_t *levels = json_object_get(jc, "levels");
    if (!json_is_string(name)) return bad_json(err, "a column has no name");
    const char *nm = json_string_value(name);
    if (strlen(nm) != json_string_length(name))
        return bad_json(err, "column name '%s' holds a NUL byte", nm);
    if (!json_is_string(type) || !type_from_name(json_string_value(type), &fc->type))
        return bad_json(err, "column '%s' has no valid type", nm);
    if ((fc->type == RL_TYPE_STRING) != (levels != NULL) || (levels && !json_is_array(levels)))
        return bad_json(err, "column '%s' has levels that do not fit its type", nm);
    if (!(fc->name = rl_strdup(nm))) return rl_error_set(err, RL_ENOMEM, "out of memory");
    fc->width = 1;
    if (!levels) return RL_OK;
    if (!(fc->levels = rl_levels_new())) return rl_error_set(err, RL_ENOMEM, "out of memory");
    size_t i;
    json_t *lj;
    json_array_foreach(levels, i, lj)
    {
        if (!json_is_string(lj))
            return bad_json(err, "column '%s' has a level that is no string", nm);
        const char *s = json_string_value(lj);
        size_t n = json_string_length(lj);
        if (rl_levels_find(fc->levels, s, n) >= 0)
            return bad_json(err, "column '%s' lists a level twice", nm);
        if (rl_levels_intern(fc->levels, s, n) < 0)
            return rl_error_set(err, RL_ENOMEM, "out of memory");
    }
    fc->width = json_array_size(levels);
    return RL_OK;
}

int rl_features_from_json(const json_t *j, rl_features **out, rl_error *err)
{
    if (!json_is_object(j)) return bad_json(err, "it is not a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key,
                        v) if (strcmp(key, "version") != 0 && strcmp(key, "dim") != 0 &&
                               strcmp(key, "columns") != 0) return bad_json(err, "unknown key '%s'",
                                                                            key);
    const json_t *version = json_object_get(j, "version"), *dim = json_object_get(j, "dim");
    const json_t *cols = json_object_get(j, "columns");
    if (!json_is_integer(version)) return bad_json(err, "no version");
    if (json_integer_value(version) != FEATURES_VERSION)
        return rl_error_set(err, RL_EFORMAT,
                            "the model's feature layout has version %lld, this relearn reads "
                            "version %d; use a newer relearn",
                            (long long)json_integer_value(version), FEATURES_VERSION);
    if (!json_is_integer(dim) || !json_is_array(cols) || json_array_size(cols) == 0)
        return bad_json(err, "no dim or columns");
    size_t nc = json_array_size(cols);
    rl_features *f = rl_calloc(1, sizeof *f);
    int rc = RL_OK;
    if (!f || !(f->cols = rl_calloc(nc, sizeof *f->cols))) {
        rc = rl_error_set(err, RL_ENOMEM, "out of memory reading the feature layout");
        goto fail;
    }
    for (size_t i = 0; i < nc; i++) {
        const json_t *jc = json_array_get(cols, i);
        if (!json_is_object(jc)) {
            rc = bad_json(err, "a column is not an object");
            goto fail;
        }
        fcol *fc = &f->cols[i];
        f->ncols++;
        if ((rc = column_from_json(jc, fc, err))) goto fail;
        for (size_t k = 0; k < i; k++)
            if (strcmp(f->cols[k].name, fc->name) == 0) {
                rc = bad_json(err, "column '%s' appears twice", fc->name);
                goto fail;
            }
        fc->offset = f->dim;
        f->dim += fc->width;
    }
    if (f->dim == 0 || json_integer_value(dim) < 0 ||
        (uint64_t)json_integer_value(dim) != (uint64_t)f->dim) {
        rc = bad_json(err, "dim does not match the columns");
        goto fail;
    }
    *out = f;
    return RL_OK;
fail:
    rl_features_free(f);
    return rc;
}
