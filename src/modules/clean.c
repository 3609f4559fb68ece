/* clean.c - Clean Missing Data: fill or remove missing values.
 *
 * Fitting picks, among the selected columns, those whose share of missing
 * values in the fit data lies within [minimum, maximum]-missing-value-ratio
 * (Studio's rule; a column without missing values has ratio 0, so with the
 * default bounds it is picked too and new data gets its gaps filled) and
 * learns per column what to do:
 *   replace-with-mean / -median   the mean or median of the present values
 *                                 (numeric columns only: anything else is an
 *                                 error naming the column, as in Studio; a
 *                                 column without any value is an error too);
 *   replace-with-mode             the most frequent value (any type; ties go
 *                                 to the smallest value, text bytewise, false
 *                                 before true);
 *   custom-substitution-value     replacement-value read as the column's type;
 *   remove-entire-row             rows missing any picked column are dropped,
 *                                 on the fit data and on every later table;
 *   remove-entire-column          the picked columns are dropped (by name,
 *                                 on every later table; absent ones are fine).
 * Applying fills by name. A picked column that a later table lacks is skipped
 * when it was the label at fit time, else RL_ESCHEMA. A column whose type
 * differs from the fit is first converted to the fitted type
 * (rl_column_convert: a column of numbers read as text becomes numeric again).
 *
 * Ownership: the state belongs to its transform. Thread safety: apply() only
 * reads the state.
 */
#include "base/buf.h"
#include "base/mem.h"
#include "modules/columns.h"
#include "modules/transform_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MODULE "Clean Missing Data"

enum { M_MEAN, M_MEDIAN, M_MODE, M_CUSTOM, M_REMOVE_ROW, M_REMOVE_COLUMN };

static const char *const keys[] = {"columns",
                                   "cleaning-mode",
                                   "replacement-value",
                                   "minimum-missing-value-ratio",
                                   "maximum-missing-value-ratio",
                                   NULL};
static const char *const modes[] = {"replace-with-mean",
                                    "replace-with-median",
                                    "replace-with-mode",
                                    "custom-substitution-value",
                                    "remove-entire-row",
                                    "remove-entire-column",
                                    NULL};

typedef struct clean_col {
    char *name;
    rl_type type; /* at fit time */
    double num;   /* the fill of a numeric or boolean column */
    char *text;   /* the fill of a string column */
} clean_col;

typedef struct clean_state {
    int mode;
    double min_ratio, max_ratio;
    char replacement[64];         /* custom-substitution-value's text (fit only) */
    const char *replacement_long; /* borrowed from params when longer (fit only) */
    char *label;
    clean_col *cols;
    size_t n;
} clean_state;

static void clean_free(void *p)
{
    clean_state *s = p;
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        rl_free(s->cols[i].name);
        rl_free(s->cols[i].text);
    }
    rl_free(s->cols);
    rl_free(s->label);
    rl_free(s);
}

static int fills(int mode)
{
    return mode != M_REMOVE_ROW && mode != M_REMOVE_COLUMN;
}

static const char *replacement_text(const clean_state *s)
{
    return s->replacement_long ? s->replacement_long : s->replacement;
}

static void clean_parse(const json_t *params, clean_state *s, rl_problems *p)
{
    rl_params_check_keys(params, MODULE, keys, p);
    rl_param_selector(params, MODULE, "columns", 0, p);
    s->mode = rl_param_enum(params, MODULE, "cleaning-mode", modes, M_CUSTOM, p);
    s->min_ratio = rl_param_number(params, MODULE, "minimum-missing-value-ratio", 0, 0, 1, p);
    s->max_ratio = rl_param_number(params, MODULE, "maximum-missing-value-ratio", 1, 0, 1, p);
    if (s->min_ratio > s->max_ratio)
        rl_problems_add(p, RL_EINVAL,
                        MODULE ": \"minimum-missing-value-ratio\" (%g) is above "
                               "\"maximum-missing-value-ratio\" (%g); no column could be cleaned",
                        s->min_ratio, s->max_ratio);
    const json_t *rv = rl_param_get(params, "replacement-value");
    memcpy(s->replacement, "0", 2); /* Studio's default */
    s->replacement_long = NULL;
    if (json_is_number(rv)) {
        double v = json_number_value(rv);
        size_t len = rl_format_double(s->replacement, v);
        s->replacement[len] = '\0';
    } else if (json_is_string(rv)) {
        if (json_string_length(rv) < sizeof s->replacement)
            memcpy(s->replacement, json_string_value(rv), json_string_length(rv) + 1);
        else
            s->replacement_long = json_string_value(rv);
    } else if (rv) {
        rl_problems_add(p, RL_EINVAL,
                        MODULE ": param \"replacement-value\" must be a string or a "
                               "number");
    }
    if (s->mode == M_CUSTOM && !replacement_text(s)[0])
        rl_problems_add(p, RL_EINVAL,
                        MODULE ": \"replacement-value\" is empty, which would leave the values "
                               "missing; give the value to put in their place");
}

static void clean_check(const json_t *params, rl_problems *p)
{
    clean_state s;
    memset(&s, 0, sizeof s);
    clean_parse(params, &s, p);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_text(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* The fill of a numeric column for mean, median or mode; 1 when there is no
 * value, -1 when out of memory. */
static int numeric_fill(const rl_column *c, int mode, double *out)
{
    size_t n = 0;
    if (mode == M_MEAN) {
        double sum = 0;
        for (size_t i = 0; i < c->nrows; i++) {
            if (isnan(c->num[i])) continue;
            sum += c->num[i];
            n++;
        }
        if (n == 0) return 1;
        if (isinf(sum)) { /* overflow: sum scaled values instead */
            sum = 0;
            for (size_t i = 0; i < c->nrows; i++)
                if (!isnan(c->num[i])) sum += c->num[i] / (double)n;
            *out = sum;
        } else {
            *out = sum / (double)n;
        }
        return 0;
    }
    double *v = rl_malloc((c->nrows ? c->nrows : 1) * sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < c->nrows; i++)
        if (!isnan(c->num[i])) v[n++] = c->num[i];
    if (n == 0) {
        rl_free(v);
        return 1;
    }
    qsort(v, n, sizeof *v, cmp_double);
    if (mode == M_MEDIAN) {
        double a = v[(n - 1) / 2], b = v[n / 2];
        double m = (a + b) / 2;
        *out = isfinite(m) ? m : a / 2 + b / 2;
    } else {
        size_t best = 0, bestlen = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && v[j] == v[i])
                j++;
            if (j - i > bestlen) {
                best = i;
                bestlen = j - i;
            }
            i = j;
        }
        *out = v[best] == 0 ? 0.0 : v[best]; /* not -0 */
    }
    rl_free(v);
    return 0;
}

/* The most frequent level of a string column; 1 when there is no value, -1
 * when out of memory. */
static int string_mode(const rl_column *c, int32_t *out)
{
    size_t nlev = rl_levels_count(c->levels);
    size_t *count = rl_calloc(nlev ? nlev : 1, sizeof *count);
    if (!count) return -1;
    for (size_t i = 0; i < c->nrows; i++)
        if (c->codes[i] >= 0) count[c->codes[i]]++;
    int32_t best = -1;
    for (size_t k = 0; k < nlev; k++) {
        if (!count[k]) continue;
        int32_t code = (int32_t)k;
        if (best < 0 || count[k] > count[best] ||
            (count[k] == count[best] &&
             cmp_text(rl_levels_get(c->levels, code), rl_levels_len(c->levels, code),
                      rl_levels_get(c->levels, best), rl_levels_len(c->levels, best)) < 0))
            best = code;
    }
    rl_free(count);
    if (best < 0) return 1;
    *out = best;
    return 0;
}

/* Reads the text s as a value of type; 0 on success. */
static int parse_as(const char *s, rl_type type, double *num)
{
    if (type == RL_TYPE_NUMERIC) return rl_parse_number(s, strlen(s), num) ? 0 : -1;
    if (type == RL_TYPE_BOOLEAN) {
        if (!strcasecmp(s, "true") || !strcmp(s, "1"))
            *num = 1;
        else if (!strcasecmp(s, "false") || !strcmp(s, "0"))
            *num = 0;
        else
            return -1;
    }
    return 0;
}

/* Learns the fill of column c into cc; problems go to p. */
static int fit_fill(clean_state *s, const rl_column *c, clean_col *cc, rl_problems *p)
{
    static const char *const what[] = {"mean", "median", "mode"};
    if ((s->mode == M_MEAN || s->mode == M_MEDIAN) && c->type != RL_TYPE_NUMERIC) {
        rl_problems_add(p, RL_ESCHEMA,
                        MODULE ": %s needs numeric columns, but column '%s' is %s; select only "
                               "numeric columns (\"columns\": {\"types\": [\"numeric\"]}) or use "
                               "replace-with-mode",
                        modes[s->mode], c->name, rl_type_name(c->type));
        return RL_OK;
    }
    int r = 0;
    if (s->mode == M_CUSTOM) {
        if (c->type == RL_TYPE_STRING) {
            if (!(cc->text = rl_strdup(replacement_text(s)))) return RL_ENOMEM;
        } else if (parse_as(replacement_text(s), c->type, &cc->num)) {
            rl_problems_add(p, RL_ESCHEMA,
                            MODULE ": replacement-value '%s' is not %s, but column '%s' is %s; "
                                   "give a value of that type or select only columns it fits",
                            replacement_text(s),
                            c->type == RL_TYPE_NUMERIC ? "a number" : "true or false", c->name,
                            rl_type_name(c->type));
        }
        return RL_OK;
    }
    if (c->type == RL_TYPE_STRING) {
        int32_t code;
        r = string_mode(c, &code);
        if (r == 0 && !(cc->text = rl_strndup(rl_levels_get(c->levels, code),
                                              rl_levels_len(c->levels, code))))
            r = -1;
    } else if (c->type == RL_TYPE_BOOLEAN) {
        size_t n0 = 0, n1 = 0;
        for (size_t i = 0; i < c->nrows; i++) {
            if (isnan(c->num[i])) continue;
            if (c->num[i] != 0)
                n1++;
            else
                n0++;
        }
        r = n0 + n1 == 0;
        cc->num = n1 > n0 ? 1 : 0;
    } else {
        r = numeric_fill(c, s->mode, &cc->num);
    }
    if (r < 0) return RL_ENOMEM;
    if (r > 0)
        rl_problems_add(p, RL_ESCHEMA,
                        MODULE ": column '%s' has no values to take the %s of; exclude it from "
                               "\"columns\", or use custom-substitution-value or "
                               "remove-entire-column",
                        c->name, what[s->mode]);
    return RL_OK;
}

static int clean_state_new(const json_t *params, clean_state **out, rl_error *err)
{
    rl_problems p;
    rl_problems_init(&p);
    clean_state *s = rl_calloc(1, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    clean_parse(params, s, &p);
    int rc = rl_problems_finish(&p, err);
    if (rc) {
        clean_free(s);
        return rc;
    }
    *out = s;
    return RL_OK;
}

static int clean_fit(const json_t *params, const rl_table *in, void **out, rl_error *err)
{
    clean_state *s = NULL;
    size_t *idx = NULL, n = 0;
    rl_problems p;
    rl_problems_init(&p);
    int rc = clean_state_new(params, &s, err);
    if (rc) return rc;
    const json_t *sel = rl_param_get(params, "columns");
    json_t *all = sel ? NULL : json_string("all");
    if (!sel && !all) goto oom;
    rc = rl_columns_select(sel ? sel : all, in, &idx, &n, err);
    json_decref(all);
    if (rc) {
        rl_error_wrap(err, MODULE ": param \"columns\"");
        goto fail;
    }
    if (!(s->cols = rl_calloc(n ? n : 1, sizeof *s->cols))) goto oom;
    size_t nrows = rl_table_nrows(in);
    for (size_t k = 0; k < n; k++) {
        const rl_column *c = rl_table_col(in, idx[k]);
        size_t missing = 0;
        for (size_t i = 0; i < nrows; i++)
            missing += (size_t)rl_column_is_missing(c, i);
        double ratio = nrows ? (double)missing / (double)nrows : 0;
        if (ratio < s->min_ratio || ratio > s->max_ratio) continue;
        clean_col *cc = &s->cols[s->n++];
        cc->type = c->type;
        if (!(cc->name = rl_strdup(c->name))) goto oom;
        if (fills(s->mode) && fit_fill(s, c, cc, &p)) goto oom;
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
    clean_free(s);
    return rc;
}

/* Column c with its missing values replaced by cc's fill (a new reference). */
static int fill_column(const clean_col *cc, rl_column *c, rl_column **out, rl_error *err)
{
    rl_column *src = NULL, *nc = NULL;
    int rc;
    if (c->type != cc->type) {
        rc = rl_column_convert(c, cc->type, &src, err);
        if (rc) {
            rl_error_wrap(err,
                          MODULE ": column '%s' was %s when the module was fitted and is "
                                 "%s now",
                          c->name, rl_type_name(cc->type), rl_type_name(c->type));
            return rc;
        }
    } else {
        src = rl_column_ref(c);
    }
    size_t missing = 0;
    for (size_t i = 0; i < src->nrows; i++)
        missing += (size_t)rl_column_is_missing(src, i);
    if (missing == 0) {
        *out = src;
        return RL_OK;
    }
    if (!(nc = rl_column_dup(src, NULL))) goto oom;
    if (nc->type == RL_TYPE_STRING) {
        int32_t code = rl_levels_intern(nc->levels, cc->text, strlen(cc->text));
        if (code < 0) goto oom;
        for (size_t i = 0; i < nc->nrows; i++)
            if (nc->codes[i] < 0) nc->codes[i] = code;
    } else {
        for (size_t i = 0; i < nc->nrows; i++)
            if (isnan(nc->num[i])) nc->num[i] = cc->num;
    }
    rl_column_unref(src);
    *out = nc;
    return RL_OK;
oom:
    rl_column_unref(src);
    rl_column_unref(nc);
    return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory filling column '%s'", c->name);
}

static int clean_apply(const void *state, const rl_table *in, rl_table **out, rl_error *err)
{
    const clean_state *s = state;
    char **names = NULL;
    long *idx = NULL;
    rl_table *t = NULL;
    size_t *rows = NULL, nrows = rl_table_nrows(in);
    int rc;
    if (!(names = rl_malloc((s->n ? s->n : 1) * sizeof *names))) goto oom;
    if (!(idx = rl_malloc((s->n ? s->n : 1) * sizeof *idx))) goto oom;
    for (size_t i = 0; i < s->n; i++)
        names[i] = s->cols[i].name;
    if (s->mode == M_REMOVE_COLUMN) {
        if (!(t = rl_table_dup(in))) goto oom;
        for (size_t i = 0; i < s->n; i++) {
            long k = rl_table_find(t, s->cols[i].name);
            if (k >= 0) rl_table_remove(t, (size_t)k);
        }
        goto done;
    }
    rc = rl_columns_find_fitted(MODULE, names, s->n, s->label, in, idx, err);
    if (rc) goto fail;
    if (s->mode == M_REMOVE_ROW) {
        size_t keep = 0;
        if (!(rows = rl_malloc((nrows ? nrows : 1) * sizeof *rows))) goto oom;
        for (size_t r = 0; r < nrows; r++) {
            int miss = 0;
            for (size_t i = 0; i < s->n && !miss; i++)
                miss = idx[i] >= 0 && rl_column_is_missing(rl_table_col(in, (size_t)idx[i]), r);
            if (!miss) rows[keep++] = r;
        }
        if (keep == nrows) {
            if (!(t = rl_table_dup(in))) goto oom;
        } else {
            rc = rl_table_take_rows(in, rows, keep, &t, err);
            if (rc) goto fail;
        }
        goto done;
    }
    if (!(t = rl_table_dup(in))) goto oom;
    for (size_t i = 0; i < s->n; i++) {
        if (idx[i] < 0) continue;
        rl_column *nc = NULL;
        rc = fill_column(&s->cols[i], rl_table_col(in, (size_t)idx[i]), &nc, err);
        if (rc) goto fail;
        rc = rl_table_set(t, (size_t)idx[i], nc, err);
        if (rc) goto fail;
    }
done:
    rl_free(names);
    rl_free(idx);
    rl_free(rows);
    *out = t;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(names);
    rl_free(idx);
    rl_free(rows);
    rl_table_free(t);
    return rc;
}

static json_t *clean_save(const void *state)
{
    const clean_state *s = state;
    json_t *cols = json_array();
    if (!cols) return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const clean_col *cc = &s->cols[i];
        json_t *o = json_object();
        if (json_array_append_new(cols, o) || rl_json_set(o, "name", json_string(cc->name)) ||
            rl_json_set(o, "type", json_string(rl_type_name(cc->type))))
            goto fail;
        if (!fills(s->mode)) continue;
        json_t *v = cc->type == RL_TYPE_STRING    ? json_string(cc->text)
                    : cc->type == RL_TYPE_BOOLEAN ? json_boolean(cc->num != 0)
                                                  : rl_json_double(cc->num);
        if (rl_json_set(o, "value", v)) goto fail;
    }
    return rl_state_save(cols, s->label);
fail:
    json_decref(cols);
    return NULL;
}

static int load_col(const clean_state *s, const json_t *o, size_t i, clean_col *cc, rl_error *err)
{
    const json_t *name = json_object_get(o, "name"), *type = json_object_get(o, "type");
    const json_t *v = json_object_get(o, "value");
    unsigned flags;
    if (!json_is_string(name) || !json_is_string(type) ||
        rl_type_parse(json_string_value(type), &cc->type, &flags))
        return rl_error_set(err, RL_EFORMAT,
                            MODULE " state: column %zu needs a \"name\" and a \"type\"; the "
                                   "model file is corrupt",
                            i + 1);
    if (!(cc->name = rl_strdup(json_string_value(name))))
        return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    if (!fills(s->mode)) return RL_OK;
    int ok = cc->type == RL_TYPE_STRING    ? json_is_string(v)
             : cc->type == RL_TYPE_BOOLEAN ? json_is_boolean(v)
                                           : rl_json_get_double(v, &cc->num) == 0;
    if (!ok)
        return rl_error_set(err, RL_EFORMAT,
                            MODULE " state: column '%s' has no %s \"value\"; the model file is "
                                   "corrupt",
                            cc->name, rl_type_name(cc->type));
    if (cc->type == RL_TYPE_BOOLEAN) cc->num = json_is_true(v);
    if (cc->type == RL_TYPE_STRING && !(cc->text = rl_strdup(json_string_value(v))))
        return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    return RL_OK;
}

static int clean_load(const json_t *params, const json_t *j, void **out, rl_error *err)
{
    clean_state *s = NULL;
    int rc = clean_state_new(params, &s, err);
    if (rc) return rc;
    s->replacement_long = NULL; /* params are not kept */
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
        rc = load_col(s, json_array_get(cols, i), i, &s->cols[s->n++], err);
        if (rc) goto fail;
    }
    if (rl_strdup_opt(json_string_value(label), &s->label)) goto oom;
    *out = s;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    clean_free(s);
    return rc;
}

const rl_transform_kind rl_clean_kind = {
    .module = MODULE,
    .check = clean_check,
    .fit = clean_fit,
    .apply = clean_apply,
    .save = clean_save,
    .load = clean_load,
    .free = clean_free,
};
