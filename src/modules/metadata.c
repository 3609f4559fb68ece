/* metadata.c - Edit Metadata: change the type, categorical flag, label or
 * feature role, and names of selected columns.
 *
 * Fitting resolves the selector to column names (a list of names keeps its
 * order, which is the order "new-column-names" follows); applying edits those
 * columns of any table: first the data type (rl_column_convert), then the
 * categorical flag, then the role, then the name. Studio's categorical columns
 * hold text, so "make-categorical" on a numeric or boolean column also turns
 * it into a string column of its values' text. "fields": "label" makes the one
 * selected column the label and clears the flag on every other column.
 * A replayed table that lacks the label column (the one of the fit, or the one
 * this module makes the label) is edited without it.
 *
 * Ownership: the state belongs to its transform. Thread safety: apply() only
 * reads the state.
 */
#include "base/mem.h"
#include "modules/columns.h"
#include "modules/transform_impl.h"

#include <string.h>

#define MODULE "Edit Metadata"

enum { DT_UNCHANGED, DT_NUMERIC, DT_BOOLEAN, DT_STRING };
enum { CAT_UNCHANGED, CAT_MAKE, CAT_CLEAR };
enum { F_UNCHANGED, F_LABEL, F_FEATURE, F_CLEAR_LABEL, F_CLEAR_FEATURE };

static const char *const keys[] = {"columns", "data-type",        "categorical",
                                   "fields",  "new-column-names", NULL};
static const char *const dtypes[] = {"unchanged", "numeric", "boolean", "string", NULL};
static const char *const cats[] = {"unchanged", "make-categorical", "make-non-categorical", NULL};
static const char *const fields[] = {"unchanged",   "label",         "feature",
                                     "clear-label", "clear-feature", NULL};

typedef struct meta_state {
    int dtype, cat, fields;
    char **names; /* selected columns at fit time, in selector order */
    size_t n;
    char **renames; /* n new names, or NULL */
    size_t nrenames;
    char *label; /* the label column at fit time, or NULL */
} meta_state;

static void meta_free(void *p)
{
    meta_state *s = p;
    if (!s) return;
    rl_strings_free(s->names, s->n);
    rl_strings_free(s->renames, s->nrenames);
    rl_free(s->label);
    rl_free(s);
}

/* The next comma-separated name of *pos, spaces around it trimmed; 0 at the end. */
static int next_name(const char **pos, const char **start, size_t *len)
{
    const char *s = *pos;
    if (!s) return 0;
    const char *comma = strchr(s, ',');
    const char *end = comma ? comma : s + strlen(s);
    *pos = comma ? comma + 1 : NULL;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *start = s;
    *len = (size_t)(end - s);
    return 1;
}

/* Problems of a "new-column-names" text; returns the number of names. */
static size_t check_renames(const char *text, rl_problems *p)
{
    const char *pos = text, *a;
    size_t alen, count = 0;
    while (next_name(&pos, &a, &alen)) {
        count++;
        if (alen == 0) {
            rl_problems_add(p, RL_EINVAL,
                            MODULE ": name %zu of \"new-column-names\" is empty; write names "
                                   "separated by commas, like \"age,income\"",
                            count);
            continue;
        }
        const char *pos2 = text, *b;
        size_t blen;
        for (size_t k = 1; k < count && next_name(&pos2, &b, &blen); k++) {
            if (blen == alen && memcmp(a, b, alen) == 0) {
                rl_problems_add(p, RL_EINVAL,
                                MODULE ": name '%.*s' appears twice in \"new-column-names\"",
                                (int)alen, a);
                break;
            }
        }
    }
    return count;
}

static int split_renames(const char *text, char ***out, size_t *n)
{
    rl_problems ignored;
    rl_problems_init(&ignored);
    size_t count = check_renames(text, &ignored);
    char **s = rl_calloc(count ? count : 1, sizeof *s);
    if (!s) return RL_ENOMEM;
    const char *pos = text, *a;
    size_t alen;
    for (size_t i = 0; i < count && next_name(&pos, &a, &alen); i++) {
        if (!(s[i] = rl_strndup(a, alen))) {
            rl_strings_free(s, count);
            return RL_ENOMEM;
        }
    }
    *out = s;
    *n = count;
    return RL_OK;
}

/* Reads the options of params into s (names excepted). */
static void meta_parse(const json_t *params, meta_state *s, rl_problems *p)
{
    rl_params_check_keys(params, MODULE, keys, p);
    const json_t *sel = rl_param_selector(params, MODULE, "columns", 1, p);
    s->dtype = rl_param_enum(params, MODULE, "data-type", dtypes, DT_UNCHANGED, p);
    s->cat = rl_param_enum(params, MODULE, "categorical", cats, CAT_UNCHANGED, p);
    s->fields = rl_param_enum(params, MODULE, "fields", fields, F_UNCHANGED, p);
    if (s->cat == CAT_MAKE && (s->dtype == DT_NUMERIC || s->dtype == DT_BOOLEAN))
        rl_problems_add(p, RL_EINVAL,
                        MODULE ": a categorical column holds text, so \"make-categorical\" "
                               "cannot go with data-type '%s'; use data-type \"unchanged\" or "
                               "\"string\"",
                        dtypes[s->dtype]);
    const char *renames = rl_param_string(params, MODULE, "new-column-names", NULL, p);
    size_t nrenames = renames ? check_renames(renames, p) : 0;
    if (json_is_array(sel)) {
        size_t nsel = json_array_size(sel);
        if (renames && nrenames != nsel)
            rl_problems_add(p, RL_EINVAL,
                            MODULE ": \"new-column-names\" has %zu names for %zu selected "
                                   "columns; give one name per column, in the selector's order",
                            nrenames, nsel);
        if (s->fields == F_LABEL && nsel > 1)
            rl_problems_add(p, RL_EINVAL,
                            MODULE ": \"fields\": \"label\" needs exactly one column, but %zu "
                                   "are selected; a dataset has one label",
                            nsel);
    }
}

static void meta_check(const json_t *params, rl_problems *p)
{
    meta_state s;
    memset(&s, 0, sizeof s);
    meta_parse(params, &s, p);
}

/* Options and renames from params (already checked). */
static int meta_state_new(const json_t *params, meta_state **out, rl_error *err)
{
    rl_problems p;
    rl_problems_init(&p);
    meta_state *s = rl_calloc(1, sizeof *s);
    if (!s) return rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
    meta_parse(params, s, &p);
    int rc = rl_problems_finish(&p, err);
    if (rc) goto fail;
    const char *renames = json_string_value(rl_param_get(params, "new-column-names"));
    if (renames && split_renames(renames, &s->renames, &s->nrenames)) {
        rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
        goto fail;
    }
    *out = s;
    return RL_OK;
fail:
    meta_free(s);
    return rc;
}

static int meta_fit(const json_t *params, const rl_table *in, void **out, rl_error *err)
{
    meta_state *s = NULL;
    size_t *idx = NULL, n = 0;
    int rc = meta_state_new(params, &s, err);
    if (rc) return rc;
    rc = rl_columns_select_ordered(rl_param_get(params, "columns"), in, &idx, &n, err);
    if (rc) {
        rl_error_wrap(err, MODULE ": param \"columns\"");
        goto fail;
    }
    if (n == 0) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": the selector matched no column of the dataset; check the "
                                 "types or names in \"columns\"");
        goto fail;
    }
    if (s->renames && s->nrenames != n) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": \"new-column-names\" has %zu names but the selector matched "
                                 "%zu columns (first '%s'); give one name per selected column",
                          s->nrenames, n, rl_table_col(in, idx[0])->name);
        goto fail;
    }
    if (s->fields == F_LABEL && n != 1) {
        rc = rl_error_set(err, RL_ESCHEMA,
                          MODULE ": \"fields\": \"label\" needs exactly one column, but the "
                                 "selector matched %zu ('%s', '%s'%s); select the label only",
                          n, rl_table_col(in, idx[0])->name, rl_table_col(in, idx[1])->name,
                          n > 2 ? ", ..." : "");
        goto fail;
    }
    /* A new name may not be the name of a column that stays as it is. */
    for (size_t i = 0; s->renames && i < n; i++) {
        long other = rl_table_find(in, s->renames[i]);
        int renamed = 0;
        for (size_t k = 0; other >= 0 && k < n; k++)
            renamed |= idx[k] == (size_t)other;
        if (other >= 0 && !renamed) {
            rc = rl_error_set(err, RL_ESCHEMA,
                              MODULE ": new name '%s' for column '%s' is the name of another "
                                     "column; choose another name or select that column too",
                              s->renames[i], rl_table_col(in, idx[i])->name);
            goto fail;
        }
    }
    if (!(s->names = rl_calloc(n, sizeof *s->names))) goto oom;
    s->n = n;
    for (size_t i = 0; i < n; i++)
        if (!(s->names[i] = rl_strdup(rl_table_col(in, idx[i])->name))) goto oom;
    if (rl_strdup_opt(rl_table_label_name(in), &s->label)) goto oom;
    rl_free(idx);
    *out = s;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(idx);
    meta_free(s);
    return rc;
}

/* The edited version of column c (a new reference in *out). */
static int edit_column(const meta_state *s, rl_column *c, const char *rename, rl_column **out,
                       rl_error *err)
{
    static const rl_type to[] = {0, RL_TYPE_NUMERIC, RL_TYPE_BOOLEAN, RL_TYPE_STRING};
    rl_column *nc = rl_column_ref(c);
    int rc;
    rl_type type = s->dtype != DT_UNCHANGED ? to[s->dtype] : c->type;
    if (s->cat == CAT_MAKE) type = RL_TYPE_STRING;
    if (type != c->type) {
        rl_column *conv = NULL;
        rc = rl_column_convert(c, type, &conv, err);
        if (rc) {
            rl_error_wrap(err, MODULE ": changing column '%s' from %s to %s", c->name,
                          rl_type_name(c->type), rl_type_name(type));
            goto fail;
        }
        rl_column_unref(nc);
        nc = conv;
    }
    unsigned flags = nc->flags;
    if (s->cat == CAT_MAKE) flags |= RL_COL_CATEGORICAL;
    if (s->cat == CAT_CLEAR) flags &= ~(unsigned)RL_COL_CATEGORICAL;
    switch (s->fields) {
    case F_LABEL:
        flags = (flags | RL_COL_LABEL) & ~(unsigned)RL_COL_FEATURE;
        break;
    case F_FEATURE:
        flags = (flags | RL_COL_FEATURE) & ~(unsigned)RL_COL_LABEL;
        break;
    case F_CLEAR_LABEL:
        flags &= ~(unsigned)RL_COL_LABEL;
        break;
    case F_CLEAR_FEATURE:
        flags &= ~(unsigned)RL_COL_FEATURE;
        break;
    default:
        break;
    }
    int renamed = rename && strcmp(rename, nc->name) != 0;
    if (flags != nc->flags || renamed) {
        if (nc == c) {
            /* Shared: columns are immutable, so edit a copy. */
            rl_column *copy = rl_column_dup(c, renamed ? rename : NULL);
            if (!copy) goto oom;
            rl_column_unref(nc);
            nc = copy;
        } else if (renamed) {
            char *name = rl_strdup(rename);
            if (!name) goto oom;
            rl_free(nc->name);
            nc->name = name;
        }
        nc->flags = flags;
    }
    *out = nc;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory editing column '%s'", c->name);
fail:
    rl_column_unref(nc);
    return rc;
}

static int meta_apply(const void *state, const rl_table *in, rl_table **out, rl_error *err)
{
    const meta_state *s = state;
    size_t ncols = rl_table_ncols(in);
    long *idx = rl_malloc((s->n ? s->n : 1) * sizeof *idx);
    long *which = rl_malloc((ncols ? ncols : 1) * sizeof *which); /* column -> selected i */
    rl_table *t = NULL;
    int rc;
    if (!idx || !which) goto oom;
    rc = rl_columns_find_fitted(MODULE, s->names, s->n,
                                s->fields == F_LABEL ? s->names[0] : s->label, in, idx, err);
    if (rc) goto fail;
    for (size_t j = 0; j < ncols; j++)
        which[j] = -1;
    for (size_t i = 0; i < s->n; i++)
        if (idx[i] >= 0) which[idx[i]] = (long)i;
    if (!(t = rl_table_new(rl_table_nrows(in)))) goto oom;
    for (size_t j = 0; j < ncols; j++) {
        rl_column *c = rl_table_col(in, j), *nc = NULL;
        if (which[j] >= 0) {
            size_t i = (size_t)which[j];
            rc = edit_column(s, c, s->renames ? s->renames[i] : NULL, &nc, err);
            if (rc) goto fail;
        } else if (s->fields == F_LABEL && (c->flags & RL_COL_LABEL)) {
            /* One label per table: the old one becomes a feature. */
            nc = rl_column_dup(c, NULL);
            if (!nc) goto oom;
            nc->flags &= ~(unsigned)RL_COL_LABEL;
        } else {
            nc = rl_column_ref(c);
        }
        rc = rl_table_add(t, nc, err);
        if (rc) {
            rl_error_wrap(err, MODULE);
            goto fail;
        }
    }
    rl_free(idx);
    rl_free(which);
    *out = t;
    return RL_OK;
oom:
    rc = rl_error_set(err, RL_ENOMEM, MODULE ": out of memory");
fail:
    rl_free(idx);
    rl_free(which);
    rl_table_free(t);
    return rc;
}

static json_t *meta_save(const void *state)
{
    const meta_state *s = state;
    return rl_state_save(rl_json_strings(s->names, s->n), s->label);
}

static int meta_load(const json_t *params, const json_t *j, void **out, rl_error *err)
{
    meta_state *s = NULL;
    int rc = meta_state_new(params, &s, err);
    if (rc) return rc;
    rc = rl_json_get_strings(json_object_get(j, "columns"), MODULE " state \"columns\"", &s->names,
                             &s->n, err);
    if (rc) goto fail;
    if (s->n == 0 || (s->renames && s->nrenames != s->n) || (s->fields == F_LABEL && s->n != 1)) {
        rc = rl_error_set(err, RL_EFORMAT,
                          MODULE " state: %zu columns do not fit the params; the model file "
                                 "is corrupt",
                          s->n);
        goto fail;
    }
    rc = rl_state_get_label(j, MODULE, &s->label, err);
    if (rc) goto fail;
    *out = s;
    return RL_OK;
fail:
    meta_free(s);
    return rc;
}

const rl_transform_kind rl_metadata_kind = {
    .module = MODULE,
    .check = meta_check,
    .fit = meta_fit,
    .apply = meta_apply,
    .save = meta_save,
    .load = meta_load,
    .free = meta_free,
};
